/* omniroute agent console: attaching files to a reply (docs/media.md).
 *
 * A paper-clip button and drops on the reply box pick files; each is
 * uploaded at once over the console's own websocket (upload, then
 * upload_chunk frames, docs/agent-protocol.md "Files"), shown with its
 * name, size and progress, or the server's reason when it is refused. The
 * next reply of that conversation names the uploaded ones. It hooks into
 * the console through window.omrConsole (console.js's extension API):
 * on('frame') for the upload frames, on('reply') to add the files to a
 * reply, on('selected') to show the files of the conversation shown. */
(function () {
	'use strict';

	var MAX_CHUNK = 32768;
	var seq = 0;
	var files = [];      /* {id, conv, file, name, size, sent, state, why, li, bar} */
	var busy = null;     /* the one being uploaded */

	function fmtSize(n) {
		if (n < 1024)
			return n + ' B';
		if (n < 1048576)
			return (n / 1024).toFixed(1) + ' kB';
		return (n / 1048576).toFixed(1) + ' MB';
	}

	var C = window.omrConsole;
	var form = document.getElementById('reply-form');
	var bar = form ? form.querySelector('.reply-bar') : null;
	if (!C || !form || !bar)
		return;
	var el = C.node; /* the console's: (tag, class, text) */
	var input = el('input');
	input.type = 'file';
	input.multiple = true;
	input.hidden = true;
	input.id = 'attach-input';
	var button = el('button', 'btn attach-button', '📎 Attach');
	button.type = 'button';
	button.id = 'attach-button';
	button.title = 'Attach a file (or drop it on the reply box)';
	button.setAttribute('aria-controls', 'attach-list');
	var list = el('ul', 'attach-list');
	list.id = 'attach-list';
	list.setAttribute('aria-live', 'polite');
	bar.insertBefore(button, bar.firstChild);
	bar.appendChild(input);
	form.insertBefore(list, bar);

	function render(f) {
		if (!f.li) {
			f.li = el('li', 'attach-item');
			f.li.setAttribute('data-testid', 'attach-item');
			f.nameNode = el('span', 'attach-name', f.name);
			f.factsNode = el('span', 'attach-facts');
			f.bar = el('progress', 'attach-progress');
			f.bar.max = f.size || 1;
			var drop = el('button', 'attach-remove', '×');
			drop.type = 'button';
			drop.title = 'Remove ' + f.name;
			drop.addEventListener('click', function () { remove(f); });
			f.li.appendChild(f.nameNode);
			f.li.appendChild(f.factsNode);
			f.li.appendChild(f.bar);
			f.li.appendChild(drop);
			list.appendChild(f.li);
		}
		f.li.dataset.state = f.state;
		f.bar.value = f.sent;
		f.bar.hidden = f.state !== 'uploading';
		var facts = ' ' + fmtSize(f.size);
		if (f.state === 'uploading')
			facts += ' · ' + Math.floor(100 * f.sent / (f.size || 1)) + '%';
		else if (f.state === 'ready')
			facts += ' · ready';
		else if (f.state === 'failed')
			facts += ' · ' + f.why;
		else if (f.state === 'waiting')
			facts += ' · waiting';
		f.factsNode.textContent = facts;
		list.hidden = !files.some(function (x) { return x.conv === current(); });
		files.forEach(function (x) { if (x.li) x.li.hidden = x.conv !== current(); });
	}

	/* the conversation shown, when it is assigned (files go only there) */
	function current() {
		var c = C.current();
		return c && c.status === 'assigned' ? c.id : null;
	}

	function send(obj) {
		return C.S.authed === true && C.send(obj);
	}

	function remove(f) {
		files = files.filter(function (x) { return x !== f; });
		if (f.li)
			f.li.remove();
		if (busy === f)
			busy = null;
		next();
	}

	function add(fileList) {
		var conv = current();
		if (!conv)
			return;
		Array.prototype.forEach.call(fileList, function (file) {
			seq += 1;
			var f = { id: 'a' + Date.now().toString(36) + seq, conv: conv, file: file,
				  name: file.name, size: file.size, sent: 0, state: 'waiting', why: '' };
			files.push(f);
			if (!file.size) {
				f.state = 'failed';
				f.why = 'the file is empty';
			}
			render(f);
		});
		next();
	}

	function fail(f, why) {
		f.state = 'failed';
		f.why = why;
		if (busy === f)
			busy = null;
		render(f);
		next();
	}

	function next() {
		if (busy)
			return;
		busy = files.filter(function (x) { return x.state === 'waiting'; })[0] || null;
		if (!busy)
			return;
		busy.state = 'uploading';
		render(busy);
		if (!send({ type: 'upload', upload: busy.id, conversation: busy.conv,
					       name: busy.name, size: busy.size }))
			fail(busy, 'not connected');
	}

	function sendChunk(f, max) {
		var end = Math.min(f.sent + max, f.size);
		var reader = new FileReader();
		reader.onload = function () {
			var bytes = new Uint8Array(reader.result), bin = '';
			for (var i = 0; i < bytes.length; i += 8192)
				bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
			f.pending = bytes.length;
			if (!send({ type: 'upload_chunk', upload: f.id, data: btoa(bin) }))
				fail(f, 'not connected');
		};
		reader.onerror = function () { fail(f, 'the file could not be read'); };
		reader.readAsArrayBuffer(f.file.slice(f.sent, end));
	}

	function byId(id) {
		return files.filter(function (x) { return x.id === id; })[0] || null;
	}

	/* every server frame (after the console: it leaves the upload frames
	 * and an upload's errors to this file): true when it was ours */
	function frame(msg) {
		var f = msg && typeof msg.upload === 'string' ? byId(msg.upload) : null;
		if (!f)
			return false;
		switch (msg.type) {
		case 'upload':
			f.max = Math.min(MAX_CHUNK, msg.chunk_max || MAX_CHUNK);
			sendChunk(f, f.max);
			return true;
		case 'upload_progress':
			f.sent = msg.received;
			render(f);
			sendChunk(f, f.max);
			return true;
		case 'uploaded':
			f.sent = f.size;
			f.state = 'ready';
			f.attachment = msg.attachment;
			busy = null;
			render(f);
			next();
			return true;
		case 'error':
			fail(f, typeof msg.message === 'string' ? msg.message : 'refused');
			return true;
		default:
			return false;
		}
	}

	/* the uploads a reply of conv may name now */
	function ready(conv) {
		return files.filter(function (x) { return x.conv === conv && x.state === 'ready'; })
			.map(function (x) { return x.id; });
	}

	/* the reply named them: they leave the box */
	function sent(conv) {
		files.filter(function (x) { return x.conv === conv && x.state === 'ready'; })
			.forEach(remove);
	}

	button.addEventListener('click', function () {
		if (!current())
			return;
		input.click();
	});
	input.addEventListener('change', function () {
		add(input.files);
		input.value = '';
	});
	form.addEventListener('dragover', function (ev) {
		if (!current() || !ev.dataTransfer || Array.prototype.indexOf.call(ev.dataTransfer.types, 'Files') < 0)
			return;
		ev.preventDefault();
		form.classList.add('attach-over');
	});
	form.addEventListener('dragleave', function () { form.classList.remove('attach-over'); });
	form.addEventListener('drop', function (ev) {
		form.classList.remove('attach-over');
		if (!current() || !ev.dataTransfer || !ev.dataTransfer.files.length)
			return;
		ev.preventDefault();
		add(ev.dataTransfer.files);
	});
	/* another conversation shown: its own files */
	C.on('selected', function () {
		files.forEach(render);
		if (!files.length)
			list.hidden = true;
	});
	C.on('frame', frame);
	/* a reply names the files ready for its conversation */
	C.on('reply', function (entry, m) {
		var ids = ready(entry.c.id);
		if (!ids.length || m.template || m.private)
			return; /* neither takes files: they stay in the box */
		m.attachments = ids;
		sent(entry.c.id);
	});
	list.hidden = true;

	window.omrAttach = { ready: ready, add: add };
}());
