import { expect, test } from 'vitest';
import * as Y from 'yjs';
import { diff, list, meta, newItem, project, projectionProblems, restore, LIMITS } from '../../src/lib/pps/model.ts';

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
