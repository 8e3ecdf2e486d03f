// An SMSC for tests/integration/test_sms.py: the npm `smpp` package's
// server (not written here), scripted by the test over stdin/stdout, one
// JSON object a line each way.
//
// Events out: listening {port}; bind {command, system_id, password,
// system_type}; submit {seq, status, message_id, source, source_ton, dest,
// dest_ton, esm_class, data_coding, registered_delivery, udh (hex), text
// (decoded by the package), sm (hex)}; enquire_link; unbind;
// deliver_resp {ref, status}; close.
//
// Commands in: throttle {n}: answer the next n submit_sm ESME_RTHROTTLED;
// drop_after {n}: answer n more submit_sm, then close the connection and
// leave whatever else came unanswered (reported as status -1); deliver
// {ref, source, dest, short_message (hex), esm_class, data_coding, tlvs};
// raw {hex}: bytes written as they are; drop: the connection closed at
// once; hold_after {n}: answer n more submit_sm, then none (status -2)
// until release; quit.
'use strict';
const smpp = require('smpp');
const readline = require('readline');

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let current = null;     // the latest bound session
let throttle = 0;
let dropAfter = -1;
let holdAfter = -1;     // 0: holding
let ids = 0;

// SMSC_TLS_KEY and SMSC_TLS_CERT (PEM files): SMPP over TLS
const opts = { debug: false };
if (process.env.SMSC_TLS_KEY) {
	opts.key = require('fs').readFileSync(process.env.SMSC_TLS_KEY);
	opts.cert = require('fs').readFileSync(process.env.SMSC_TLS_CERT);
}
const server = smpp.createServer(opts, (session) => {
	session.on('error', (e) => out({ event: 'error', error: String(e && e.message) }));
	session.on('close', () => {
		if (current === session)
			current = null;
		out({ event: 'close' });
	});
	const onBind = (pdu) => {
		out({ event: 'bind', command: pdu.command, system_id: pdu.system_id,
		      password: pdu.password, system_type: pdu.system_type });
		session.send(pdu.response());
		if (pdu.command !== 'bind_transmitter' || !current)
			current = session; // where deliver_sm goes
	};
	session.on('bind_transceiver', onBind);
	session.on('bind_transmitter', onBind);
	session.on('bind_receiver', onBind);
	session.on('enquire_link', (pdu) => {
		out({ event: 'enquire_link' });
		session.send(pdu.response());
	});
	session.on('unbind', (pdu) => {
		out({ event: 'unbind' });
		session.send(pdu.response());
		session.close();
	});
	session.on('submit_sm', (pdu) => {
		const sm = pdu.short_message || {};
		const ev = {
			event: 'submit', seq: pdu.sequence_number, source: pdu.source_addr,
			source_ton: pdu.source_addr_ton, dest: pdu.destination_addr,
			dest_ton: pdu.dest_addr_ton, esm_class: pdu.esm_class, data_coding: pdu.data_coding,
			registered_delivery: pdu.registered_delivery,
			udh: sm.udh && sm.udh.length ? Buffer.concat(sm.udh).toString('hex') : '',
			text: typeof sm.message === 'string' ? sm.message : String(sm.message || ''),
		};
		if (session.dropping) {
			ev.status = -1; // came after the answers that were still sent
			out(ev);
			return;
		}
		if (holdAfter === 0) {
			ev.status = -2; // held: never answered
			out(ev);
			return;
		}
		if (holdAfter > 0)
			holdAfter--;
		if (throttle > 0) {
			throttle--;
			ev.status = 0x58;
			out(ev);
			session.send(pdu.response({ command_status: 0x58 }));
			return;
		}
		ids++;
		ev.status = 0;
		ev.message_id = 'M' + (1000 + ids);
		out(ev);
		session.send(pdu.response({ message_id: ev.message_id }));
		if (dropAfter > 0 && --dropAfter === 0) {
			dropAfter = -1;
			session.dropping = true;
			session.socket.end(); // after the answers above are written
		}
	});
});

server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }));

function deliver(c) {
	if (!current)
		return out({ event: 'deliver_resp', ref: c.ref, status: -2 });
	const opts = Object.assign({
		source_addr: c.source || '', destination_addr: c.dest || '',
		source_addr_ton: c.source_ton === undefined ? 1 : c.source_ton, source_addr_npi: 1,
		esm_class: c.esm_class || 0, data_coding: c.data_coding || 0,
		short_message: Buffer.from(c.short_message || '', 'hex'),
	}, c.tlvs || {});
	current.deliver_sm(opts, (resp) => out({ event: 'deliver_resp', ref: c.ref,
						 status: resp.command_status }));
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
	const c = JSON.parse(line);
	if (c.cmd === 'throttle')
		throttle = c.n;
	else if (c.cmd === 'hold_after')
		holdAfter = c.n;
	else if (c.cmd === 'release')
		holdAfter = -1;
	else if (c.cmd === 'drop_after')
		dropAfter = c.n;
	else if (c.cmd === 'deliver')
		deliver(c);
	else if (c.cmd === 'raw' && current)
		current.socket.write(Buffer.from(c.hex, 'hex'));
	else if (c.cmd === 'drop' && current)
		current.socket.destroy();
	else if (c.cmd === 'quit')
		process.exit(0);
	out({ event: 'done', cmd: c.cmd });
});
