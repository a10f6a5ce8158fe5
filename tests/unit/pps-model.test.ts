import { expect, test } from 'vitest';
import * as Y from 'yjs';
import { diff, list, meta, newItem, project, projectionProblems, restore, upgrade, LIMITS } from '../../src/lib/pps/model.ts';

function sample(): Y.Doc {
	const doc = new Y.Doc();
	const goals = doc.getXmlFragment('goals');
	const p = new Y.XmlElement('paragraph');
	p.insert(0, [new Y.XmlText('Boire moins')]);
	goals.insert(0, [p]);
	meta(doc).set('reviewDate', '2027-03-01');
	meta(doc).set('coordinator', 'u1');
	meta(doc).set('evaluation', 'Consommation déclarée');
	list(doc, 'actions').push([newItem('actions', { what: 'Dossier DALO', owner: 'u2', due: '2027-01-15', status: 'a_faire' })]);
	list(doc, 'objectives').push([newItem('objectives', { domain: 'logement', text: 'Logement stable' })]);
	return doc;
}

test('projection, restore into another document, and back to the same projection', () => {
	const doc = sample();
	const p = project(doc);
	expect(p).toMatchObject({ goals: 'Boire moins', reviewDate: '2027-03-01', coordinator: 'u1', evaluation: 'Consommation déclarée' });
	expect(p.actions).toEqual([{ id: expect.any(String), what: 'Dossier DALO', owner: 'u2', due: '2027-01-15', status: 'a_faire' }]);
	const other = new Y.Doc();
	restore(other, p);
	expect(project(other)).toEqual(p);
	expect(projectionProblems(p)).toEqual([]);
});

test('a readable French diff of what changed, by item identity', () => {
	const before = project(sample());
	const after = structuredClone(before);
	after.actions[0].status = 'fait';
	after.objectives = [];
	after.problems.push({ id: 'x', domain: 'justice', text: 'Convocation au tribunal' });
	after.coordinator = 'u2';
	const names = (id: string) => ({ u1: 'Inès Haddad', u2: 'Camille Durand' })[id] ?? id;
	expect(diff(before, after, names)).toEqual([
		{ kind: 'changed', section: 'Coordination du plan', text: 'Inès Haddad → Camille Durand' },
		{ kind: 'added', section: 'Besoins et problèmes', text: 'Convocation au tribunal' },
		{ kind: 'removed', section: 'Objectifs négociés', text: 'Logement stable' },
		{ kind: 'changed', section: 'Actions', text: 'Dossier DALO par Camille Durand pour le 2027-01-15 (à faire) → Dossier DALO par Camille Durand pour le 2027-01-15 (fait)' }
	]);
	expect(diff(before, before)).toEqual([]);
});

test('limits are reported in French', () => {
	const p = project(sample());
	p.actions = Array.from({ length: LIMITS.items + 1 }, (_, i) => ({ id: String(i), what: 'x', owner: '', due: '', status: 'a_faire' }));
	p.evaluation = 'x'.repeat(LIMITS.field + 1);
	expect(projectionProblems(p)).toEqual(["Trop d'éléments (actions).", 'Texte trop long.']);
});

test('free-text fields are Y.Texts; an older document holding plain strings is upgraded in one edit', () => {
	const doc = sample();
	expect(list(doc, 'actions').get(0).get('what')).toBeInstanceOf(Y.Text);
	expect(meta(doc).get('evaluation')).toBe('Consommation déclarée'); // set as a string by sample()
	const before = project(doc);
	let edits = 0;
	doc.on('update', () => edits++);
	expect(upgrade(doc)).toBe(true);
	expect(edits).toBe(1);
	expect(meta(doc).get('evaluation')).toBeInstanceOf(Y.Text);
	expect(project(doc)).toEqual(before);
	expect(upgrade(doc)).toBe(false);
	// Choices, dates and people stay plain strings.
	expect(typeof list(doc, 'actions').get(0).get('status')).toBe('string');
	const restored = new Y.Doc();
	restore(restored, before);
	expect(list(restored, 'actions').get(0).get('what')).toBeInstanceOf(Y.Text);
	expect(project(restored)).toEqual(before);
});

test('two people typing in the same free-text field keep their words together', () => {
	const a = sample();
	const b = new Y.Doc();
	Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
	const textA = list(a, 'objectives').get(0).get('text') as Y.Text;
	const textB = list(b, 'objectives').get(0).get('text') as Y.Text;
	for (const ch of ' alpha one two') textA.insert(textA.length, ch);
	for (const ch of ' bravo four five') textB.insert(textB.length, ch);
	Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
	Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
	expect(textA.toString()).toBe(textB.toString());
	expect(textA.toString()).toContain(' alpha one two');
	expect(textA.toString()).toContain(' bravo four five');
});
