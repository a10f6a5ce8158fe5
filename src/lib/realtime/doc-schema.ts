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

/**
 * Whether `update` can be applied to `doc` without a trial: it only types plain text into text
 * fields the document already has, within their bounds even if it deleted nothing, and deletes.
 * That is most updates (someone typing), and they then cost one decoding instead of being applied
 * twice (to a replica, to be checked, then to the document). False means "not sure", never "refused":
 * the update must then go through a replica and checkChanges. Conservative by construction: every
 * struct must be a string whose place (origin, right origin or parent) is already in the document
 * or earlier in the update, and no update held back for a missing dependency may be involved.
 */
export function typesPlainText(doc: Y.Doc, update: Uint8Array, schema: DocSchema): boolean {
	const store = doc.store;
	if (store.pendingStructs !== null || store.pendingDs !== null) return false;
	let structs: Array<Y.Item | Y.GC | Y.Skip>;
	try {
		structs = Y.decodeUpdate(update).structs;
	} catch {
		return false; // the replica says why
	}
	// Typing sends a few structs; an update of many (crafted: 20,000 one-letter inserts in 200 kB)
	// goes to the replica, whose integration is linear, rather than through the lookups below.
	if (structs.length > QUICK_STRUCTS_MAX) return false;
	// The update's own items, by client, to resolve origins that point into them.
	const own = new Map<number, Y.Item[]>();
	const nextClock = new Map<number, number>();
	const added = new Map<Y.Text, number>();
	for (const struct of structs) {
		if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentString)) return false;
		const { client, clock } = struct.id;
		// Contiguous with what the document (or the update, before it) has of this client: nothing held back.
		const expected = nextClock.get(client) ?? Y.getState(store, client);
		if (clock > expected) return false;
		nextClock.set(client, Math.max(expected, clock + struct.length));
		const type = placeOf(struct, doc, own);
		if (!(type instanceof Y.Text)) return false;
		let list = own.get(client);
		if (!list) own.set(client, (list = []));
		list.push(struct);
		added.set(type, (added.get(type) ?? 0) + struct.length);
	}
	const proseAdded = new Map<Y.XmlFragment, number>();
	for (const [type, count] of added) {
		const path = pathOf(type);
		if (!path) return false;
		const root = path[0];
		const name = Y.findRootTypeKey(root);
		const rule = Object.hasOwn(schema.roots, name) ? schema.roots[name] : undefined;
		let max: number | null = null;
		if (rule?.kind === 'text' && path.length === 1) max = rule.max;
		else if (rule?.kind === 'map' && path.length === 2 && root instanceof Y.Map) max = textFieldMax(fieldOf(rule.fields, type._item?.parentSub));
		else if (rule?.kind === 'list' && path.length === 3 && root instanceof Y.Array && path[1] instanceof Y.Map && path[1]._item?.parentSub === null)
			max = textFieldMax(fieldOf(rule.fields, type._item?.parentSub));
		else if (rule?.kind === 'prose' && root instanceof Y.XmlFragment && type instanceof Y.XmlText) {
			proseAdded.set(root, (proseAdded.get(root) ?? 0) + count);
			continue;
		}
		if (max === null || type.length + count > max) return false;
	}
	for (const [root, count] of proseAdded) {
		const rule = schema.roots[Y.findRootTypeKey(root)] as Extract<RootRule, { kind: 'prose' }>;
		if (checkProse(root, { ...rule, maxChars: rule.maxChars - count }) !== null) return false;
	}
	return true;
}

/** The most structs an update may have to be checked without the replica. */
const QUICK_STRUCTS_MAX = 256;

const textFieldMax = (rule: FieldRule | undefined) => (rule?.kind === 'text' ? rule.max : null);

/** The struct of the document holding `id`, or null when the document does not have it. */
function structAt(store: Y.Doc['store'], id: Y.ID): Y.Item | Y.GC | null {
	if (Y.getState(store, id.client) <= id.clock) return null;
	return Y.getItem(store, id) as Y.Item | Y.GC;
}

/**
 * The type an item of an update would land in, as Yjs decides when integrating it (left origin
 * first, then right origin, then the parent written in the item), recorded as the item's parent;
 * null when that is not a type the document has, or when the item is a map entry (has a key).
 */
function placeOf(item: Y.Item, doc: Y.Doc, own: Map<number, Y.Item[]>): Y.AbstractType<any> | null {
	const neighbour = item.origin ?? item.rightOrigin;
	let type: Y.AbstractType<any> | null = null;
	if (neighbour) {
		// An earlier item of this update was placed when it was checked.
		const earlier = own.get(neighbour.client)?.find((i) => i.id.clock <= neighbour.clock && neighbour.clock < i.id.clock + i.length);
		if (earlier) type = earlier.parent as Y.AbstractType<any>;
		else {
			const found = structAt(doc.store, neighbour);
			if (!(found instanceof Y.Item) || found.parentSub !== null) return null;
			type = found.parent as Y.AbstractType<any>;
		}
	} else if (item.parentSub !== null) return null;
	else if (typeof item.parent === 'string') type = doc.share.get(item.parent) ?? null;
	else if (item.parent) {
		const found = structAt(doc.store, item.parent as Y.ID);
		if (!(found instanceof Y.Item) || !(found.content instanceof Y.ContentType)) return null;
		type = found.content.type;
	}
	item.parent = type;
	return type;
}
