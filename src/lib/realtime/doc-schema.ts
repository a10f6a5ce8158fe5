// The shape and limits of a shared Yjs document, declared once beside its model (the PPS, the notes)
// and enforced by the server on every update: a document is a page of a care record, not a place
// to store megabytes, and what the editors cannot display must never reach the other editors.
import * as Y from 'yjs';

export type FieldRule =
	/** Co-edited character by character (Y.Text). A plain string of the same bound is read too (older documents). */
	| { kind: 'text'; max: number }
	/** Replaced as a whole, last writer wins (a choice, a date, a person). */
	| { kind: 'string'; max: number; values?: readonly string[]; date?: boolean };

export type RootRule =
	| { kind: 'text'; max: number }
	/** Rich text (Tiptap/ProseMirror through y-prosemirror): bounded text, node count and node names. */
	| { kind: 'prose'; maxChars: number; maxNodes: number; nodes: readonly string[] }
	| { kind: 'map'; fields: Record<string, FieldRule> }
	/** A list of records (Y.Map), each with an `id` and the given fields. */
	| { kind: 'list'; maxItems: number; fields: Record<string, FieldRule> };

export interface DocSchema {
	roots: Record<string, RootRule>;
	/** The largest encoded document (its whole state, as stored after compaction). */
	maxBytes: number;
}

const ID_MAX = 80;
const ATTRIBUTE_MAX = 200;

/** Why a change is refused, in French, for the person whose edit it was. */
export const REFUSALS = {
	unknown: 'Modification non reconnue par le serveur.',
	tooLong: (max: number) => `Texte trop long (${max.toLocaleString('fr-FR')} caractères au plus).`,
	tooMany: (max: number) => `Trop d'éléments (${max} au plus).`,
	invalid: 'Valeur non valide.',
	tooLarge: 'Document trop volumineux.'
};

/** Gives each declared root its type, so that an update's content lands in the right kind of type. */
export function defineRoots(doc: Y.Doc, schema: DocSchema): void {
	for (const [name, rule] of Object.entries(schema.roots)) {
		if (rule.kind === 'text') doc.getText(name);
		else if (rule.kind === 'prose') doc.getXmlFragment(name);
		else if (rule.kind === 'map') doc.getMap(name);
		else doc.getArray(name);
	}
}

/** The chain of types from the root down to `type`, or null when it hangs under deleted content. */
function pathOf(type: Y.AbstractType<any>): Y.AbstractType<any>[] | null {
	const path = [type];
	let current = type;
	while (current._item) {
		if (current._item.deleted) return null;
		current = current._item.parent as Y.AbstractType<any>;
		path.unshift(current);
	}
	return path;
}

function isRealDate(value: string): boolean {
	const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
	if (!m) return false;
	// setUTCFullYear, not Date.UTC: years 0–99 are real while a date is being typed digit by digit.
	const d = new Date(0);
	d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
	return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

function checkField(rule: FieldRule | undefined, value: unknown): string | null {
	if (value === undefined) return null;
	if (!rule) return REFUSALS.unknown;
	if (rule.kind === 'text') {
		const length = value instanceof Y.Text ? value.length : typeof value === 'string' ? value.length : -1;
		if (length < 0) return REFUSALS.invalid;
		return length > rule.max ? REFUSALS.tooLong(rule.max) : null;
	}
	if (typeof value !== 'string') return REFUSALS.invalid;
	if (value.length > rule.max) return REFUSALS.tooLong(rule.max);
	if (value === '') return null;
	if (rule.values && !rule.values.includes(value)) return REFUSALS.invalid;
	if (rule.date && !isRealDate(value)) return REFUSALS.invalid;
	return null;
}

const fieldOf = (fields: Record<string, FieldRule>, key: string | null | undefined) => (key != null && Object.hasOwn(fields, key) ? fields[key] : undefined);

function checkRecord(map: Y.Map<unknown>, fields: Record<string, FieldRule>, keys?: Iterable<string>): string | null {
	for (const key of keys ?? map.keys()) {
		const problem = key === 'id' ? checkField({ kind: 'string', max: ID_MAX }, map.get(key)) : checkField(fieldOf(fields, key), map.get(key));
		if (problem) return problem;
	}
	return null;
}

function checkProse(root: Y.XmlFragment, rule: Extract<RootRule, { kind: 'prose' }>): string | null {
	let chars = 0;
	let nodes = 0;
	const stack: unknown[] = root.toArray();
	while (stack.length) {
		const node = stack.pop();
		if (++nodes > rule.maxNodes) return REFUSALS.tooMany(rule.maxNodes);
		if (node instanceof Y.XmlText) {
			chars += node.length;
			if (chars > rule.maxChars) return REFUSALS.tooLong(rule.maxChars);
		} else if (node instanceof Y.XmlElement) {
			if (!rule.nodes.includes(node.nodeName)) return REFUSALS.unknown;
			const attributes = Object.entries(node.getAttributes());
			if (attributes.length > 8 || attributes.some(([k, v]) => k.length > 40 || JSON.stringify(v ?? null).length > ATTRIBUTE_MAX)) return REFUSALS.invalid;
			stack.push(...node.toArray());
		} else return REFUSALS.unknown;
	}
	return null;
}

/**
 * Checks what a transaction changed against the schema. Types created within the transaction are
 * not in `changed` (Yjs records only types that existed before it), so a changed container is
 * checked with everything it now holds.
 */
export function checkChanges(doc: Y.Doc, changed: Map<Y.AbstractType<any>, Set<string | null>>, schema: DocSchema): string | null {
	const proseChecked = new Set<Y.AbstractType<any>>();
	for (const [type, keys] of changed) {
		const path = pathOf(type);
		if (!path) continue;
		const root = path[0];
		const name = Y.findRootTypeKey(root);
		const rule = Object.hasOwn(schema.roots, name) ? schema.roots[name] : undefined;
		if (!rule) return REFUSALS.unknown;
		let problem: string | null = null;
		switch (rule.kind) {
			case 'text':
				problem = path.length !== 1 || !(root instanceof Y.Text) ? REFUSALS.unknown : root.length > rule.max ? REFUSALS.tooLong(rule.max) : null;
				break;
			case 'prose':
				if (!(root instanceof Y.XmlFragment)) problem = REFUSALS.unknown;
				else if (!proseChecked.has(root)) {
					proseChecked.add(root);
					problem = checkProse(root, rule);
				}
				break;
			case 'map':
				if (!(root instanceof Y.Map)) problem = REFUSALS.unknown;
				else if (path.length === 1) problem = checkRecord(root, rule.fields, [...keys].filter((k): k is string => k !== null));
				else if (path.length === 2) problem = checkField(fieldOf(rule.fields, type._item!.parentSub), type);
				else problem = REFUSALS.unknown;
				break;
			case 'list':
				if (!(root instanceof Y.Array)) problem = REFUSALS.unknown;
				else if (path.length === 1) {
					if (root.length > rule.maxItems) problem = REFUSALS.tooMany(rule.maxItems);
					for (const item of root) {
						problem ??= item instanceof Y.Map ? checkRecord(item, rule.fields) : REFUSALS.unknown;
						if (problem) break;
					}
				} else if (path.length === 2) problem = type instanceof Y.Map ? checkRecord(type, rule.fields, [...keys].filter((k): k is string => k !== null)) : REFUSALS.unknown;
				else if (path.length === 3) problem = checkField(fieldOf(rule.fields, type._item!.parentSub), type);
				else problem = REFUSALS.unknown;
				break;
		}
		if (problem) return problem;
	}
	return null;
}

/** The schema of each kind of shared document, by the prefix of its name. */
export function schemaFor(docName: string, schemas: Record<string, DocSchema>): DocSchema | null {
	const prefix = docName.slice(0, docName.indexOf(':') + 1);
	return Object.hasOwn(schemas, prefix) ? schemas[prefix] : null;
}
