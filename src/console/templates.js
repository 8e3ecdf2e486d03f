/* omniroute agent console: the variables of a channel's message templates
 * (WhatsApp, docs/channels/whatsapp.md#templates-with-variables). When the
 * reply window is closed, console.js lists the templates; this file adds a
 * small form with one field per variable of the chosen one, checks that
 * every field is filled in before the template is sent, and gives the text
 * as the customer will read it. console.js calls it through
 * window.OmrTemplates (form, values, preview). */
(function () {
	'use strict';

	var LABELS = { header: 'Header', body: 'Text', button: 'Button' };

	function describe(v) {
		var part = LABELS[v.part] || v.part;
		if (v.part === 'header')
			return v.type === 'text' ? 'Header text' : part + ' ' + v.type + ' (https:// link)';
		if (v.part === 'button')
			return part + ' ' + v.name.replace('button_', '') + (v.type === 'url' ? ' (link suffix)' : ' (payload)');
		return part + ' {{' + v.name + '}}';
	}

	/* The fields of template t in box (a <div>), replacing what was there. */
	function form(box, t) {
		while (box.firstChild)
			box.removeChild(box.firstChild);
		var vars = t && Array.isArray(t.variables) ? t.variables : [];
		box.hidden = !vars.length;
		vars.forEach(function (v) {
			var label = document.createElement('label');
			label.className = 'template-var';
			var span = document.createElement('span');
			span.textContent = describe(v);
			var input = document.createElement('input');
			input.type = v.type === 'text' || v.type === 'url' || v.type === 'payload' ? 'text' : 'url';
			input.maxLength = 1024;
			input.dataset.variable = String(v.name);
			input.setAttribute('data-testid', 'template-var-' + v.name);
			label.appendChild(span);
			label.appendChild(input);
			box.appendChild(label);
		});
		var err = document.createElement('p');
		err.className = 'template-error';
		err.setAttribute('role', 'alert');
		err.setAttribute('data-testid', 'template-error');
		box.appendChild(err);
	}

	/* The variables filled in for t, or null (the missing ones marked and
	 * named) when one is empty. */
	function values(box, t) {
		var out = {}, missing = [];
		var vars = t && Array.isArray(t.variables) ? t.variables : [];
		vars.forEach(function (v) {
			var input = box.querySelector('[data-variable="' + String(v.name).replace(/"/g, '') + '"]');
			var val = input ? input.value.trim() : '';
			if (input)
				input.setAttribute('aria-invalid', val ? 'false' : 'true');
			if (!val)
				missing.push(describe(v));
			else
				out[v.name] = val;
		});
		var err = box.querySelector('.template-error');
		if (err)
			err.textContent = missing.length ? 'Fill in: ' + missing.join(', ') : '';
		return missing.length ? null : out;
	}

	/* The text with the variables in it (the server's text is what counts). */
	function preview(t, vars) {
		var text = String(t && t.text || '');
		return text.replace(/\{\{([a-z0-9_]+)\}\}/g, function (all, name) {
			return vars && Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : all;
		});
	}

	window.OmrTemplates = { form: form, values: values, preview: preview };
})();
