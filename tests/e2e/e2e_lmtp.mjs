// One mail over LMTP, as Postfix would deliver it (the browser tests'
// e-mails: console_e2e.mjs, console_problems_e2e.mjs).

import net from 'node:net';

/* One mail over LMTP (as Postfix would deliver it); the server's answer
 * to the data. */
export function lmtpDeliver(port, from, lines) {
	return new Promise((resolve, reject) => {
		const sock = net.connect(port, '127.0.0.1');
		const script = ['LHLO e2e', `MAIL FROM:<${from}>`, 'RCPT TO:<support@example.com>', 'DATA'];
		let buf = '', stage = -1;
		sock.setEncoding('latin1');
		sock.on('error', reject);
		sock.on('data', (d) => {
			buf += d;
			let nl;
			while ((nl = buf.indexOf('\r\n')) >= 0) {
				const line = buf.slice(0, nl);
				buf = buf.slice(nl + 2);
				if (line[3] === '-')
					continue; /* a continued reply (LHLO) */
				if (!/^[23]/.test(line)) {
					sock.destroy();
					return reject(new Error(`LMTP: ${line}`));
				}
				stage++;
				if (stage < script.length) {
					sock.write(script[stage] + '\r\n');
				} else if (stage === script.length) {
					const body = lines.map((l) => (l.startsWith('.') ? '.' + l : l)).join('\r\n');
					sock.write(body + '\r\n.\r\n');
				} else {
					sock.end('QUIT\r\n');
					return resolve(line);
				}
			}
		});
	});
}
