// Binds an <input> or <textarea> to a Y.Text, so that two people typing in the same field merge
// character by character. Local typing becomes minimal edits (common prefix/suffix diff); a remote
// edit updates the field and keeps the caret where it was, relative to the text around it.
import * as Y from 'yjs';

type Field = HTMLInputElement | HTMLTextAreaElement;

/**
 * Where the text lives: a Y.Text, or a field of a Y.Map whose value is a Y.Text (or, in documents
 * written before free text was co-edited, a plain string, turned into a Y.Text on the first edit).
 */
export type TextTarget = Y.Text | { map: Y.Map<unknown>; field: string };

function diffInto(text: Y.Text, next: string): void {
	const prev = text.toString();
	let start = 0;
	while (start < prev.length && start < next.length && prev[start] === next[start]) start++;
	let endPrev = prev.length;
	let endNext = next.length;
	while (endPrev > start && endNext > start && prev[endPrev - 1] === next[endNext - 1]) {
		endPrev--;
		endNext--;
	}
	if (endPrev === start && endNext === start) return;
	text.doc!.transact(() => {
		if (endPrev > start) text.delete(start, endPrev - start);
		if (endNext > start) text.insert(start, next.slice(start, endNext));
	});
}

/**
 * The caret moved through a remote change (a Y.Text delta). It sticks to the character on its
 * left: text someone else inserts exactly at the caret goes after it, so two people typing at the
 * same place each keep their own words together instead of interleaving letters.
 */
function remap(delta: { insert?: unknown; retain?: number; delete?: number }[], selStart: number, selEnd: number): [number, number] {
	let index = 0;
	for (const op of delta) {
		if (op.retain) index += op.retain;
		else if (op.insert) {
			const len = typeof op.insert === 'string' ? op.insert.length : 1;
			if (index < selStart) selStart += len;
			if (index < selEnd) selEnd += len;
			index += len;
		} else if (op.delete) {
			if (index < selStart) selStart -= Math.min(op.delete, selStart - index);
			if (index < selEnd) selEnd -= Math.min(op.delete, selEnd - index);
		}
	}
	return [selStart, selEnd];
}

/** A Svelte action: `<input use:bindText={target} />`. */
export function bindText(node: Field, initial: TextTarget) {
	let target = initial;
	let text: Y.Text | null = null;
	let map: Y.Map<unknown> | null = null;

	const onRemote = (event: Y.YTextEvent) => {
		if (event.transaction.local) return;
		const focused = document.activeElement === node;
		const [start, end] = focused ? remap(event.delta as never, node.selectionStart ?? 0, node.selectionEnd ?? 0) : [0, 0];
		node.value = text!.toString();
		if (focused) node.setSelectionRange(start, end);
	};
	const onMap = (event: Y.YMapEvent<unknown>) => {
		if (!('field' in target) || !event.keysChanged.has(target.field)) return;
		// The field was replaced (a restored version, an older document upgraded): follow the new value.
		attach();
	};
	const current = (): Y.Text | null => {
		if (target instanceof Y.Text) return target;
		const value = target.map.get(target.field);
		return value instanceof Y.Text ? value : null;
	};

	function detach() {
		text?.unobserve(onRemote);
		map?.unobserve(onMap);
		text = map = null;
	}
	function attach() {
		detach();
		text = current();
		text?.observe(onRemote);
		if (!(target instanceof Y.Text)) {
			map = target.map;
			map.observe(onMap);
		}
		const value = text ? text.toString() : target instanceof Y.Text ? '' : String(target.map.get(target.field) ?? '');
		if (node.value !== value) node.value = value;
	}
	function onInput() {
		const typed = node.value;
		if (!text && !(target instanceof Y.Text)) {
			const { map: m, field } = target;
			if (!m.doc) return; // the record is gone (removed by someone else meanwhile)
			m.doc.transact(() => {
				const before = m.get(field);
				const created = new Y.Text(typeof before === 'string' ? before : '');
				m.set(field, created);
			});
			attach();
			node.value = typed;
		}
		if (text) diffInto(text, typed);
	}

	node.addEventListener('input', onInput);
	attach();
	return {
		update(next: TextTarget) {
			const same = next instanceof Y.Text || target instanceof Y.Text ? next === target : next.map === target.map && next.field === target.field;
			target = next;
			if (!same) attach();
		},
		destroy() {
			node.removeEventListener('input', onInput);
			detach();
		}
	};
}
