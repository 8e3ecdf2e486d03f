/*
 * omr_embedded: see omr_embedded.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "omr_embedded.h"
#include "omr_log.h"
#include "omr_util.h"

struct omr_embedded {
	struct event_base *base;
	char *server;
	char *dir;
	char *sock;
	char *pidfile;
	char *logfile;
	char *appendfsync;
	pid_t pid;
	int stopping;
	long long backoff;
	struct event *restart_ev;
};

static void omr_embedded_restart(evutil_socket_t fd, short what, void *arg);

struct omr_embedded *omr_embedded_new(struct event_base *base, const char *server,
				      const char *state_dir, const char *appendfsync)
{
	struct omr_embedded *e = omr_calloc(1, sizeof(*e));
	e->base = base;
	e->server = omr_strdup(server);
	e->dir = omr_strdup(state_dir);
	e->sock = omr_asprintf("%s/redis.sock", state_dir);
	e->pidfile = omr_asprintf("%s/redis.pid", state_dir);
	e->logfile = omr_asprintf("%s/redis.log", state_dir);
	e->appendfsync = omr_strdup(appendfsync);
	e->backoff = 200;
	e->restart_ev = evtimer_new(base, omr_embedded_restart, e);
	return e;
}

void omr_embedded_free(struct omr_embedded *e)
{
	if (!e)
		return;
	event_free(e->restart_ev);
	free(e->server);
	free(e->dir);
	free(e->sock);
	free(e->pidfile);
	free(e->logfile);
	free(e->appendfsync);
	free(e);
}

const char *omr_embedded_socket(const struct omr_embedded *e)
{
	return e->sock;
}

static void omr_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A redis-server left from an earlier run (its parent was killed and it is
 * still writing its AOF) must be gone before a new one uses the files. */
static void omr_embedded_stop_stale(struct omr_embedded *e)
{
	char *data = omr_read_file(e->pidfile, 64, NULL, NULL);
	char path[64], comm[64] = "";
	long long pid;
	FILE *f;

	if (!data)
		return;
	data[strcspn(data, "\r\n")] = '\0';
	if (omr_parse_ll(data, &pid) < 0 || pid <= 1) {
		free(data);
		return;
	}
	free(data);
	snprintf(path, sizeof(path), "/proc/%lld/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	if (strncmp(comm, "redis-server", 12) != 0)
		return;
	omr_log_warn("embedded redis: stopping the redis-server (pid %lld) of an earlier run", pid);
	kill((pid_t)pid, SIGTERM);
	for (int i = 0; i < 200 && kill((pid_t)pid, 0) == 0; i++)
		omr_sleep_ms(50);
	if (kill((pid_t)pid, 0) == 0) {
		omr_log_warn("embedded redis: pid %lld did not stop, killing it", pid);
		kill((pid_t)pid, SIGKILL);
		omr_sleep_ms(100);
	}
}

static void omr_embedded_exec(struct omr_embedded *e, pid_t parent)
{
	const char *argv[] = {
		e->server, "--port", "0", "--unixsocket", e->sock, "--unixsocketperm", "700",
		"--dir", e->dir, "--appendonly", "yes", "--appendfsync", e->appendfsync,
		"--save", "", "--daemonize", "no", "--pidfile", e->pidfile, "--logfile", e->logfile,
		"--loglevel", "warning", "--protected-mode", "yes", NULL,
	};
	int fd;

	/* Die with the daemon: SIGTERM makes redis fsync its AOF and exit. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	close_range(3, ~0U, 0);
	/* Keep redis' own signals default; ours are handled by libevent. */
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0); /* a terminal's ^C goes to the daemon, which stops redis in order */
	execvp(e->server, (char *const *)argv);
	fprintf(stderr, "omniroute: cannot run %s: %s\n", e->server, strerror(errno));
	_exit(127);
}

int omr_embedded_start(struct omr_embedded *e, char **err_r)
{
	pid_t parent = getpid(), pid;

	if (mkdir(e->dir, 0750) == -1 && errno != EEXIST)
		return omr_err(err_r, "cannot create state directory %s: %s", e->dir, strerror(errno));
	if (strlen(e->sock) >= 100)
		return omr_err(err_r, "state directory path too long for a unix socket: %s", e->sock);
	omr_embedded_stop_stale(e);
	pid = fork();
	if (pid == -1)
		return omr_err(err_r, "fork: %s", strerror(errno));
	if (pid == 0)
		omr_embedded_exec(e, parent);
	e->pid = pid;
	e->stopping = 0;
	omr_log_info("embedded redis: started %s (pid %d) on unix:%s", e->server, (int)pid, e->sock);
	return 0;
}

static void omr_embedded_restart(evutil_socket_t fd, short what, void *arg)
{
	struct omr_embedded *e = arg;
	char *err = NULL;
	if (e->stopping || e->pid > 0)
		return;
	if (omr_embedded_start(e, &err) < 0) {
		omr_log_error("embedded redis: %s", err);
		free(err);
	}
}

void omr_embedded_reap(struct omr_embedded *e)
{
	int status;
	pid_t pid;

	if (!e || e->pid <= 0)
		return;
	pid = waitpid(e->pid, &status, WNOHANG);
	if (pid != e->pid)
		return;
	e->pid = 0;
	if (e->stopping)
		return;
	if (WIFEXITED(status))
		omr_log_error("embedded redis: exited with status %d (see %s); restarting",
			      WEXITSTATUS(status), e->logfile);
	else
		omr_log_error("embedded redis: killed by signal %d; restarting", WTERMSIG(status));
	struct timeval tv = { e->backoff / 1000, (e->backoff % 1000) * 1000 };
	evtimer_add(e->restart_ev, &tv);
	if (e->backoff < 10000)
		e->backoff *= 2;
}

void omr_embedded_stop(struct omr_embedded *e, int timeout_ms)
{
	int status;
	if (!e)
		return;
	e->stopping = 1;
	evtimer_del(e->restart_ev);
	if (e->pid <= 0)
		return;
	kill(e->pid, SIGTERM);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (waitpid(e->pid, &status, WNOHANG) == e->pid) {
			e->pid = 0;
			omr_log_info("embedded redis: stopped");
			return;
		}
		omr_sleep_ms(20);
	}
	omr_log_warn("embedded redis: did not stop within %d ms, killing it", timeout_ms);
	kill(e->pid, SIGKILL);
	waitpid(e->pid, &status, 0);
	e->pid = 0;
}
