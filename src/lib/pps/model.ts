// The PPS (plan personnalisé de santé) as a Yjs document, shared by the browser and the server.
// Layout: prose where prose is natural (the patient's goals, what to do if things go wrong) as
// Tiptap/ProseMirror fragments; everything else as structured lists of Y.Maps. Free-text fields are
// Y.Texts, so two people typing in the same field merge character by character; choices, dates
// and people are plain strings, replaced as a whole (last writer wins).
import * as Y from 'yjs';
import type { DocSchema, FieldRule } from '../realtime/doc-schema.ts';

export const DOMAINS = [
	'sante_addiction',
	'psychologique',
	'droits',
	'logement',
	'emploi_ressources',
	'justice',
	'famille_parentalite',
	'relationnel'
] as const;
export type Domain = (typeof DOMAINS)[number];

export const ACTION_STATUSES = ['a_faire', 'en_cours', 'fait', 'abandonne'] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/** The list fields of each kind of item (all strings). */
export const LISTS = {
	problems: ['domain', 'text'],
	objectives: ['domain', 'text'],
	actions: ['what', 'owner', 'due', 'status'],
	entretiens: ['professional', 'frequency']
} as const;
export type ListName = keyof typeof LISTS;
export const PROSE = ['goals', 'crisis'] as const;
export type ProseName = (typeof PROSE)[number];

export type Item<L extends ListName> = { id: string } & { [K in (typeof LISTS)[L][number]]: string };

export interface PpsProjection {
	goals: string;
	crisis: string;
	reviewDate: string;
	/** The named professional who coordinates the plan (an owner id). */
	coordinator: string;
	/** How the team will judge whether the plan works. */
	evaluation: string;
	problems: Item<'problems'>[];
	objectives: Item<'objectives'>[];
	actions: Item<'actions'>[];
	entretiens: Item<'entretiens'>[];
}

export const EMPTY_PROJECTION: PpsProjection = { goals: '', crisis: '', reviewDate: '', coordinator: '', evaluation: '', problems: [], objectives: [], actions: [], entretiens: [] };

/** Bounds that the server enforces on every update (a PPS is a page, not a database). */
export const LIMITS = { items: 100, field: 2000, prose: 20_000, short: 200 };

/** The free-text fields, co-edited as Y.Text; every other field is a plain string. */
export const TEXT_FIELDS: { [L in ListName]: readonly (typeof LISTS)[L][number][] } & { meta: readonly string[] } = {
	problems: ['text'],
	objectives: ['text'],
	actions: ['what'],
	entretiens: ['frequency'],
	meta: ['evaluation']
};

const text = (max: number): FieldRule => ({ kind: 'text', max });
const person: FieldRule = { kind: 'string', max: 80 };
const date: FieldRule = { kind: 'string', max: 10, date: true };
const domain: FieldRule = { kind: 'string', max: 40, values: DOMAINS };

/** What the server accepts in a PPS document (checked on every update, refused as a whole). */
export const PPS_SCHEMA: DocSchema = {
	roots: {
		goals: { kind: 'prose', maxChars: LIMITS.prose, maxNodes: 2000, nodes: ['paragraph', 'bulletList', 'orderedList', 'listItem', 'hardBreak'] },
		crisis: { kind: 'prose', maxChars: LIMITS.prose, maxNodes: 2000, nodes: ['paragraph', 'bulletList', 'orderedList', 'listItem', 'hardBreak'] },
		meta: { kind: 'map', fields: { reviewDate: date, coordinator: person, evaluation: text(LIMITS.field) } },
		problems: { kind: 'list', maxItems: LIMITS.items, fields: { domain, text: text(LIMITS.field) } },
		objectives: { kind: 'list', maxItems: LIMITS.items, fields: { domain, text: text(LIMITS.field) } },
		actions: { kind: 'list', maxItems: LIMITS.items, fields: { what: text(LIMITS.field), owner: person, due: date, status: { kind: 'string', max: 20, values: ACTION_STATUSES } } },
		entretiens: { kind: 'list', maxItems: LIMITS.items, fields: { professional: person, frequency: text(LIMITS.short) } }
	},
	// A maximal plan (every list full of 2,000-character texts) with its editing history fits.
	maxBytes: 4 * 1024 * 1024
};

/** A record of the PPS (an item of a list, or `meta`): free text as Y.Text, the rest as strings. */
export type PpsMap = Y.Map<string | Y.Text>;

export function list(doc: Y.Doc, name: ListName): Y.Array<PpsMap> {
	return doc.getArray<PpsMap>(name);
}

export function meta(doc: Y.Doc): PpsMap {
	return doc.getMap<string | Y.Text>('meta');
}

/** A field's value whether it is a Y.Text (co-edited) or a plain string (choices, older documents). */
export function fieldText(map: PpsMap, field: string): string {
	const value = map.get(field);
	return value instanceof Y.Text ? value.toString() : typeof value === 'string' ? value : '';
}

const isTextField = (name: ListName | 'meta', field: string) => (TEXT_FIELDS[name] as readonly string[]).includes(field);

function fieldValue(name: ListName | 'meta', field: string, value: string): string | Y.Text {
	return isTextField(name, field) ? new Y.Text(value) : value;
}

export function newItem<L extends ListName>(name: L, values: Partial<Omit<Item<L>, 'id'>> = {}): PpsMap {
	const map: PpsMap = new Y.Map();
	map.set('id', crypto.randomUUID());
	for (const field of LISTS[name]) map.set(field, fieldValue(name, field, (values as Record<string, string>)[field] ?? ''));
	return map;
}

/**
 * The Y.Text behind a free-text field, turning a plain string of an older document into one
 * (an edit: call it when the person types, not while rendering).
 */
export function textOf(map: PpsMap, field: string): Y.Text {
	const value = map.get(field);
	if (value instanceof Y.Text) return value;
	const created = new Y.Text(typeof value === 'string' ? value : '');
	map.set(field, created);
	return created;
}

/**
 * Turns the free-text fields that an older document holds as plain strings into Y.Texts, in one
 * edit; returns whether anything changed. The server runs it when it loads a document.
 */
export function upgrade(doc: Y.Doc, origin: unknown = null): boolean {
	let changed = false;
	doc.transact(() => {
		const maps: [ListName | 'meta', PpsMap][] = [['meta', meta(doc)]];
		for (const name of Object.keys(LISTS) as ListName[]) for (const m of list(doc, name)) if (m instanceof Y.Map) maps.push([name, m]);
		for (const [name, map] of maps) {
			for (const field of TEXT_FIELDS[name]) {
				if (typeof map.get(field) === 'string') {
					textOf(map, field);
					changed = true;
				}
			}
		}
	}, origin);
	return changed;
}

/** Plain text of a ProseMirror fragment: one line per block. */
export function proseText(fragment: Y.XmlFragment): string {
	const lines: string[] = [];
	const walk = (node: Y.XmlElement | Y.XmlText | Y.XmlHook, into: string[]) => {
		if (node instanceof Y.XmlText) {
			into.push(node.toDelta().map((d: { insert: unknown }) => (typeof d.insert === 'string' ? d.insert : '')).join(''));
		} else if (node instanceof Y.XmlElement) {
			const inner: string[] = [];
			for (const child of node.toArray()) walk(child as Y.XmlElement | Y.XmlText, inner);
			const text = inner.join(node.nodeName === 'paragraph' || node.nodeName === 'heading' ? '' : '\n');
			into.push(node.nodeName === 'listItem' ? `• ${text}` : text);
		}
	};
	for (const child of fragment.toArray()) {
		const block: string[] = [];
		walk(child as Y.XmlElement | Y.XmlText, block);
		lines.push(block.join('\n'));
	}
	return lines.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

export function project(doc: Y.Doc): PpsProjection {
	const items = <L extends ListName>(name: L) =>
		list(doc, name)
			.toArray()
			.map((m) => {
				const item: Record<string, string> = { id: fieldText(m, 'id') };
				for (const field of LISTS[name]) item[field] = fieldText(m, field);
				return item as Item<L>;
			});
	return {
		goals: proseText(doc.getXmlFragment('goals')),
		crisis: proseText(doc.getXmlFragment('crisis')),
		reviewDate: fieldText(meta(doc), 'reviewDate'),
		coordinator: fieldText(meta(doc), 'coordinator'),
		evaluation: fieldText(meta(doc), 'evaluation'),
		problems: items('problems'),
		objectives: items('objectives'),
		actions: items('actions'),
		entretiens: items('entretiens')
	};
}

/** What a projection breaks of the limits, in French (empty when fine). */
export function projectionProblems(p: PpsProjection): string[] {
	const problems: string[] = [];
	for (const name of Object.keys(LISTS) as ListName[]) {
		if (p[name].length > LIMITS.items) problems.push(`Trop d'éléments (${name}).`);
		for (const item of p[name]) for (const v of Object.values(item)) if (v.length > LIMITS.field) problems.push(`Texte trop long (${name}).`);
	}
	if (p.goals.length > LIMITS.prose || p.crisis.length > LIMITS.prose || p.evaluation.length > LIMITS.field) problems.push('Texte trop long.');
	return [...new Set(problems)];
}

function setProse(fragment: Y.XmlFragment, text: string) {
	fragment.delete(0, fragment.length);
	const paragraphs = text.split('\n').map((line) => {
		const p = new Y.XmlElement('paragraph');
		if (line) p.insert(0, [new Y.XmlText(line)]);
		return p;
	});
	fragment.insert(0, paragraphs);
}

/** Writes a projection into a document as one edit (restoring an old version). */
export function restore(doc: Y.Doc, p: PpsProjection, origin: unknown = null): void {
	doc.transact(() => {
		setProse(doc.getXmlFragment('goals'), p.goals);
		setProse(doc.getXmlFragment('crisis'), p.crisis);
		meta(doc).set('reviewDate', p.reviewDate);
		meta(doc).set('coordinator', p.coordinator ?? '');
		meta(doc).set('evaluation', new Y.Text(p.evaluation ?? ''));
		for (const name of Object.keys(LISTS) as ListName[]) {
			const arr = list(doc, name);
			arr.delete(0, arr.length);
			arr.insert(
				0,
				p[name].map((item) => {
					const m: PpsMap = new Y.Map();
					for (const [k, v] of Object.entries(item)) m.set(k, k === 'id' ? v : fieldValue(name, k, v));
					return m;
				})
			);
		}
	}, origin);
}

export interface DiffLine {
	kind: 'added' | 'removed' | 'changed';
	section: string;
	text: string;
}

const SECTION: Record<ListName | ProseName | 'reviewDate' | 'coordinator' | 'evaluation', string> = {
	goals: 'Objectifs du patient',
	crisis: 'En cas de difficulté',
	reviewDate: 'Date de révision',
	coordinator: 'Coordination du plan',
	evaluation: "Critères d'évaluation",
	problems: 'Besoins et problèmes',
	objectives: 'Objectifs négociés',
	actions: 'Actions',
	entretiens: 'Entretiens prévus'
};

const STATUS_FR: Record<string, string> = { a_faire: 'à faire', en_cours: 'en cours', fait: 'fait', abandonne: 'abandonné' };

function describe(name: ListName, item: Record<string, string>, owners: (id: string) => string): string {
	switch (name) {
		case 'actions':
			return [item.what || '(sans titre)', item.owner ? `par ${owners(item.owner)}` : '', item.due ? `pour le ${item.due}` : '', item.status ? `(${STATUS_FR[item.status] ?? item.status})` : '']
				.filter(Boolean)
				.join(' ');
		case 'entretiens':
			return `${owners(item.professional) || '(professionnel à préciser)'} : ${item.frequency || '(fréquence à préciser)'}`;
		default:
			return item.text || '(vide)';
	}
}

/** A readable French diff between two versions: what was added, removed or changed. */
export function diff(before: PpsProjection, after: PpsProjection, owners: (id: string) => string = (id) => id): DiffLine[] {
	const lines: DiffLine[] = [];
	for (const prose of PROSE) {
		if (before[prose] !== after[prose]) lines.push({ kind: 'changed', section: SECTION[prose], text: after[prose] || '(effacé)' });
	}
	if ((before.coordinator ?? '') !== (after.coordinator ?? '')) {
		lines.push({ kind: 'changed', section: SECTION.coordinator, text: `${before.coordinator ? owners(before.coordinator) : '—'} → ${after.coordinator ? owners(after.coordinator) : '—'}` });
	}
	if ((before.evaluation ?? '') !== (after.evaluation ?? '')) lines.push({ kind: 'changed', section: SECTION.evaluation, text: after.evaluation || '(effacé)' });
	if (before.reviewDate !== after.reviewDate) lines.push({ kind: 'changed', section: SECTION.reviewDate, text: `${before.reviewDate || '—'} → ${after.reviewDate || '—'}` });
	for (const name of Object.keys(LISTS) as ListName[]) {
		const old = new Map(before[name].map((i) => [i.id, i as Record<string, string>]));
		const now = new Map(after[name].map((i) => [i.id, i as Record<string, string>]));
		for (const [id, item] of now) {
			const was = old.get(id);
			if (!was) lines.push({ kind: 'added', section: SECTION[name], text: describe(name, item, owners) });
			else if (LISTS[name].some((f) => was[f] !== item[f])) {
				lines.push({ kind: 'changed', section: SECTION[name], text: `${describe(name, was, owners)} → ${describe(name, item, owners)}` });
			}
		}
		for (const [id, item] of old) if (!now.has(id)) lines.push({ kind: 'removed', section: SECTION[name], text: describe(name, item, owners) });
	}
	return lines;
}
