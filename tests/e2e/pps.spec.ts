import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import { expect, test, expectAxeClean, newUserPage, ppsWithCamille, submit } from './helpers';

test('a GP and a psychologist co-edit one PPS live while a colleague follows it read-only', async ({ browser }) => {
	// Three people from planning to minutes (or three on one plan): a long scenario, not a slow one.
	test.slow();
	const ines = await newUserPage(browser, 'ines.haddad');
	const pps = await ppsWithCamille(ines, 'Troisvoix');
	const camille = await newUserPage(browser, 'camille.durand');
	await camille.goto(pps);
	// Another GP of the microstructure, not in this patient's care team: he reads.
	const paul = await newUserPage(browser, 'paul.schmitt');
	await paul.goto(pps);
	for (const page of [ines, camille, paul]) await expect(page.getByTestId('pps-status')).toHaveText('Enregistré');
	await expectAxeClean(ines);

	// Everyone sees who is there.
	for (const page of [ines, camille, paul]) {
		await expect(page.getByRole('list', { name: 'Personnes sur ce PPS' })).toContainText('Inès Haddad');
		await expect(page.getByRole('list', { name: 'Personnes sur ce PPS' })).toContainText('Camille Durand');
		await expect(page.getByRole('list', { name: 'Personnes sur ce PPS' })).toContainText('Paul Schmitt');
	}

	// The patient's words, typed by the GP, reach the others within a second, with her caret.
	await ines.getByTestId('pps-goals').click();
	await ines.keyboard.type('Ne plus boire le matin.');
	await expect(camille.getByTestId('pps-goals')).toContainText('Ne plus boire le matin.', { timeout: 1000 });
	await expect(paul.getByTestId('pps-goals')).toContainText('Ne plus boire le matin.', { timeout: 1000 });
	await expect(camille.locator('.collaboration-carets__label', { hasText: 'Inès Haddad' })).toBeVisible();

	// The psychologist adds an action at the same time as the GP writes the crisis plan.
	await camille.getByRole('button', { name: 'Ajouter une action' }).click();
	await camille.getByRole('textbox', { name: 'Action', exact: true }).fill('Entretien motivationnel');
	await camille.getByRole('combobox', { name: 'Qui' }).selectOption({ label: 'Camille Durand (Psychologue)' });
	await ines.getByTestId('pps-crisis').click();
	await ines.keyboard.type('Appeler le cabinet ou le 15.');
	await expect(ines.getByRole('textbox', { name: 'Action', exact: true })).toHaveValue('Entretien motivationnel', { timeout: 1000 });
	await expect(paul.getByRole('textbox', { name: 'Action', exact: true })).toHaveValue('Entretien motivationnel', { timeout: 1000 });
	await expect(camille.getByTestId('pps-crisis')).toContainText('Appeler le cabinet ou le 15.', { timeout: 1000 });

	// The plan has a named coordinator.
	await ines.getByLabel('Coordination du plan (professionnel référent)').selectOption({ label: 'Inès Haddad (Médecin généraliste)' });
	await expect(camille.getByLabel('Coordination du plan (professionnel référent)')).toHaveValue(/.+/, { timeout: 1000 });

	// The colleague reads but cannot write: no editing controls, a read-only editor.
	await expect(paul.getByText('Lecture seule')).toBeVisible();
	await expect(paul.getByRole('button', { name: 'Ajouter une action' })).toHaveCount(0);
	await expect(paul.getByTestId('pps-goals')).toHaveAttribute('contenteditable', 'false');
	await expect(paul.getByRole('button', { name: 'Valider cette version' })).toHaveCount(0);

	// Saved means stored: after a reload, it is all there.
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	await camille.reload();
	await expect(camille.getByTestId('pps-goals')).toContainText('Ne plus boire le matin.');
	await expect(camille.getByRole('textbox', { name: 'Action', exact: true })).toHaveValue('Entretien motivationnel');
});

test('an edit made offline is kept and merges on reconnection', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	const pps = await ppsWithCamille(ines, 'Horsligne');
	const camille = await newUserPage(browser, 'camille.durand');
	await camille.goto(pps);
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');

	await camille.context().setOffline(true);
	await expect(camille.getByTestId('pps-status')).toHaveText('Hors ligne', { timeout: 15_000 });
	await expect(camille.getByText('vos modifications restent sur cet appareil')).toBeVisible();
	await camille.getByRole('button', { name: 'Ajouter un objectif' }).click();
	await camille.getByRole('textbox', { name: 'Objectif', exact: true }).fill('Reprendre le sommeil');
	// Meanwhile the GP keeps working online.
	await ines.getByTestId('pps-goals').click();
	await ines.keyboard.type('Dormir mieux.');
	await expect(ines.getByRole('textbox', { name: 'Objectif', exact: true })).toHaveCount(0);

	await camille.context().setOffline(false);
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré', { timeout: 15_000 });
	await expect(ines.getByRole('textbox', { name: 'Objectif', exact: true })).toHaveValue('Reprendre le sommeil');
	await expect(camille.getByTestId('pps-goals')).toContainText('Dormir mieux.');
});

test('a read-only colleague’s writes are dropped by the server, not just hidden', async ({ browser, baseURL }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	const pps = await ppsWithCamille(ines, 'Lectureseule');
	const paul = await newUserPage(browser, 'paul.schmitt');
	await paul.goto(pps);
	await expect(paul.getByText('Lecture seule')).toBeVisible();
	const patientId = pps.split('/')[4];

	const forged = new Y.Doc();
	forged.getMap('meta').set('reviewDate', '2099-12-31');
	const encoder = encoding.createEncoder();
	encoding.writeVarUint(encoder, 0);
	encoding.writeVarUint(encoder, 2);
	encoding.writeVarUint8Array(encoder, Y.encodeStateAsUpdate(forged));
	const bytes = Array.from(encoding.toUint8Array(encoder));
	await paul.evaluate(
		({ url, bytes }) =>
			new Promise<void>((resolve) => {
				const ws = new WebSocket(url);
				ws.binaryType = 'arraybuffer';
				ws.onopen = () => {
					ws.send(new Uint8Array(bytes));
					setTimeout(() => resolve(ws.close()), 500);
				};
			}),
		{ url: `${baseURL!.replace('http', 'ws')}/yjs/pps:${patientId}`, bytes }
	);
	await ines.getByTestId('pps-goals').click();
	await ines.keyboard.type('Toujours vivant.');
	await expect(paul.getByTestId('pps-goals')).toContainText('Toujours vivant.');
	await expect(paul.getByLabel('Date de révision')).toHaveValue('');
	// A fresh load of the page (goto rather than reload: a reload raced by the page's own live
	// refresh was once aborted by Chromium, which says nothing about the server).
	await ines.goto(ines.url(), { waitUntil: 'load' });
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	await expect(ines.getByLabel('Date de révision')).toHaveValue('');
});

test('versions: validate, read the French diff, restore, export FHIR and PDF', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	await ppsWithCamille(ines, 'Versions');
	await ines.getByRole('button', { name: 'Ajouter une action' }).click();
	await ines.getByRole('textbox', { name: 'Action', exact: true }).fill('Ouverture des droits CSS');
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	await submit(ines, 'Valider cette version');
	await expect(ines.getByRole('status').filter({ hasText: 'Version 1 validée.' })).toBeVisible();

	await ines.getByRole('textbox', { name: 'Action', exact: true }).fill('Ouverture des droits CSS et AAH');
	await ines.getByRole('button', { name: 'Ajouter un objectif' }).click();
	await ines.getByRole('textbox', { name: 'Objectif', exact: true }).fill('Logement stable');
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	await submit(ines, 'Valider cette version');
	await expect(ines.getByRole('status').filter({ hasText: 'Version 2 validée.' })).toBeVisible();

	await ines.getByTestId('pps-versions').getByRole('link', { name: 'Version 2' }).click();
	await expect(ines.getByRole('heading', { name: 'Différences entre la version 1 et la version 2' })).toBeVisible();
	const diff = ines.getByTestId('pps-diff');
	await expect(diff).toContainText('Ajouté Objectifs négociés — Logement stable');
	await expect(diff).toContainText('Modifié Actions — Ouverture des droits CSS (à faire) → Ouverture des droits CSS et AAH (à faire)');
	await expectAxeClean(ines);

	const fhir = await ines.request.get(new URL(ines.url()).pathname + '/fhir');
	const bundle = await fhir.json();
	expect(bundle.resourceType).toBe('Bundle');
	expect(bundle.entry[0].resource.resourceType).toBe('CarePlan');
	expect(bundle.entry[0].resource.activity[0].detail.description).toBe('Ouverture des droits CSS et AAH');
	expect(bundle.entry.filter((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'Goal')).toHaveLength(1);
	const pdf = await ines.request.get(new URL(ines.url()).pathname.replace(/versions\/2$/, 'pdf?version=2'));
	expect(pdf.headers()['content-type']).toBe('application/pdf');
	expect((await pdf.body()).subarray(0, 5).toString()).toBe('%PDF-');

	await ines.goto(new URL(ines.url()).pathname.replace(/versions\/2$/, 'versions/1'));
	await ines.getByRole('button', { name: 'Restaurer cette version' }).click();
	await ines.getByRole('button', { name: 'Confirmer' }).click();
	await expect(ines.getByText('Version 1 restaurée dans le PPS en cours.')).toBeVisible();
	await expect(ines.getByRole('textbox', { name: 'Action', exact: true })).toHaveValue('Ouverture des droits CSS');
	await expect(ines.getByRole('textbox', { name: 'Objectif', exact: true })).toHaveCount(0);
});

test('two colleagues reading a demo PPS they may not edit write nothing to it: it stays « Enregistré »', async ({ browser }) => {
	// The demo's plans were written by the server, not through the editor: rendering them is where
	// an editor that wrote back what it renders would show (the server drops such writes).
	const ines = await newUserPage(browser, 'ines.haddad');
	const ms = (await ines.locator('a[href^="/ms/"]').first().getAttribute('href'))!.match(/^\/ms\/[0-9a-f-]+/)![0];
	await ines.goto(`${ms}/patients`);
	const links = await ines.locator('a.patient-link').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
	let pps: string | null = null;
	for (const link of links.slice(0, 15)) {
		await ines.goto(`${link}/pps`);
		await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
		if (await ines.getByTestId('pps-readonly-reason').isVisible()) {
			pps = `${link}/pps`;
			break;
		}
	}
	expect(pps, 'a demo patient whose care team does not hold Inès').not.toBeNull();
	const camille = await newUserPage(browser, 'camille.durand');
	await camille.goto(pps!);
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');
	await expect(ines.getByRole('list', { name: 'Personnes sur ce PPS' })).toContainText('Camille Durand');
	// Each one's editors redraw the other's presence: still nothing to save, for either.
	await ines.waitForTimeout(2000);
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');
});
