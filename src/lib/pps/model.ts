// The PPS (plan personnalisé de santé) as a Yjs document, shared by the browser and the server.
// Layout: prose where prose is natural (the patient's goals, what to do if things go wrong) as
// Tiptap/ProseMirror fragments; everything else as structured lists of Y.Maps with string fields.
import * as Y from 'yjs';

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

/** Bounds that the server enforces on every projection (a PPS is a page, not a database). */
export const LIMITS = { items: 100, field: 2000, prose: 20_000 };

export function list(doc: Y.Doc, name: ListName): Y.Array<Y.Map<string>> {
	return doc.getArray<Y.Map<string>>(name);
}

export function meta(doc: Y.Doc): Y.Map<string> {
	return doc.getMap<string>('meta');
}

export function newItem<L extends ListName>(name: L, values: Partial<Omit<Item<L>, 'id'>> = {}): Y.Map<string> {
	const map = new Y.Map<string>();
	map.set('id', crypto.randomUUID());
	for (const field of LISTS[name]) map.set(field, (values as Record<string, string>)[field] ?? '');
	return map;
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
				const item: Record<string, string> = { id: String(m.get('id') ?? '') };
				for (const field of LISTS[name]) item[field] = String(m.get(field) ?? '');
				return item as Item<L>;
			});
	return {
		goals: proseText(doc.getXmlFragment('goals')),
		crisis: proseText(doc.getXmlFragment('crisis')),
		reviewDate: String(meta(doc).get('reviewDate') ?? ''),
		coordinator: String(meta(doc).get('coordinator') ?? ''),
		evaluation: String(meta(doc).get('evaluation') ?? ''),
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
		meta(doc).set('evaluation', p.evaluation ?? '');
		for (const name of Object.keys(LISTS) as ListName[]) {
			const arr = list(doc, name);
			arr.delete(0, arr.length);
			arr.insert(
				0,
				p[name].map((item) => {
					const m = new Y.Map<string>();
					for (const [k, v] of Object.entries(item)) m.set(k, v);
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
