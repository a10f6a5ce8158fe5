import type { Page } from '@playwright/test';
import { expect, test, expectAxeClean, newUserPage, signInCoordinator, signInHome, submit } from './helpers';

/** Claire (GP at the MSP du Neuhof) plans a one-off RCP today and opens it: its agenda is proposed. */
async function planRcpToday(claire: Page, title: string): Promise<string> {
	await claire.getByRole('main').getByRole('link', { name: /MSP du Neuhof/ }).click();
	await claire.getByRole('main').getByRole('link', { name: 'RCP', exact: true }).click();
	await expect(claire.getByRole('heading', { level: 1, name: 'Réunions de concertation pluriprofessionnelle' })).toBeVisible();
	// An empty title is refused in French, on the form that was sent only.
	await claire.locator('#o-title').fill('');
	await claire.getByRole('button', { name: 'Planifier une RCP ponctuelle' }).click();
	await expect(claire.getByText('Ce champ est obligatoire.')).toHaveCount(1);
	await expect(claire.locator('#o-title')).toHaveAttribute('aria-invalid', 'true');
	await claire.locator('#o-title').fill(title);
	await claire.getByRole('button', { name: 'Planifier une RCP ponctuelle' }).click();
	await expect(claire.getByRole('heading', { level: 1, name: title })).toBeVisible();
	// The agenda was built from the records, each line saying why.
	await expect(claire.getByTestId('rcp-agenda').getByRole('listitem').first()).toBeVisible();
	return new URL(claire.url()).pathname;
}

const agendaItem = (page: Page, n: number) => page.getByTestId('rcp-agenda').getByRole('listitem').nth(n);

test('the notes of a case nobody types in stay connected (y-websocket reopens a connection silent for 30 s)', async ({ page }) => {
	test.slow();
	await signInHome(page, 'claire.muller');
	await planRcpToday(page, 'RCP silencieuse');
	await submit(page, 'Démarrer la RCP');
	await expect(page.getByTestId('notes-status')).toHaveText('Synchronisé');
	const opened: string[] = [];
	page.on('websocket', (ws) => {
		if (ws.url().includes('/yjs/')) opened.push(ws.url());
	});
	// Longer than y-websocket's 30 s without a message, plus its 3 s check.
	await page.waitForTimeout(40_000);
	expect(opened).toEqual([]);
	await expect(page.getByTestId('notes-status')).toHaveText('Synchronisé');
});

test('a GP, a psychologist on her phone and a coordinator run a live RCP to its minutes', async ({ browser }) => {
	// Three people from planning to minutes (or three on one plan): a long scenario, not a slow one.
	test.slow();
	const claire = await newUserPage(browser, 'claire.muller');
	const url = await planRcpToday(claire, 'RCP de novembre');
	await expectAxeClean(claire);
	await submit(claire, 'Démarrer la RCP');
	await expect(claire.getByTestId('rcp-status')).toHaveText('En cours');

	const camille = await newUserPage(browser, 'camille.durand', { viewport: { width: 390, height: 844 } });
	await camille.goto(url);
	// The coordinator finds the live session among all her microstructures' RCPs and joins in one click.
	const lucieContext = await browser.newContext();
	const lucie = await lucieContext.newPage();
	await signInCoordinator(lucie, 'lucie.gauthier');
	await lucie.getByRole('link', { name: 'RCP', exact: true }).click();
	// Two demo RCPs of her network fall on the same Monday noon: she sees the clash.
	await expect(lucie.getByTestId('overview-session').filter({ hasText: 'RCP exceptionnelle' }).first()).toContainText('Chevauchement');
	await expectAxeClean(lucie);
	const card = lucie.getByTestId('overview-session').filter({ hasText: 'RCP de novembre' });
	await expect(card).toContainText('En cours');
	await card.getByRole('link', { name: 'Rejoindre' }).click();
	await expect(lucie.getByRole('heading', { level: 1, name: 'RCP de novembre' })).toBeVisible();

	// Presence: everyone sees the three of them.
	for (const page of [claire, camille, lucie]) {
		for (const name of ['Claire Muller', 'Camille Durand', 'Lucie Gauthier']) await expect(page.getByTestId('rcp-online')).toContainText(name);
	}
	// The quorum meter: a GP and a psychologist are there, the social worker is missing.
	await expect(claire.getByTestId('quorum-medecin_generaliste')).toHaveAttribute('data-met', 'true');
	await expect(claire.getByTestId('quorum-psychologue')).toHaveAttribute('data-met', 'true');
	await expect(claire.getByTestId('quorum-travailleur_social')).toHaveAttribute('data-met', 'false');

	// The animator moves the pointer to the second case: every screen follows.
	const second = (await agendaItem(claire, 1).getByRole('button').first().locator('.item-title').textContent())!.trim();
	await agendaItem(claire, 1).getByRole('button').first().click();
	await claire.getByRole('button', { name: 'Discuter ce point' }).click();
	for (const page of [camille, lucie]) await expect(page.getByTestId('case-title')).toHaveText(second, { timeout: 1000 });
	await expect(claire.getByTestId('case-timer')).toBeVisible();

	// The psychologist writes the case notes from her phone; the others see them live.
	await expect(camille.getByTestId('notes-status')).toHaveText('Synchronisé');
	await camille.getByRole('textbox', { name: 'Notes du cas' }).click();
	await camille.keyboard.type('Sevrage tabagique en cours, bonne alliance.');
	await expect(claire.getByRole('textbox', { name: 'Notes du cas' })).toHaveValue('Sevrage tabagique en cours, bonne alliance.', { timeout: 1000 });

	// Looking at another case and coming back reconnects nothing: each case's notes stay connected once shown.
	const notesSockets: string[] = [];
	claire.on('websocket', (ws) => {
		if (ws.url().includes('/yjs/rcp-notes')) notesSockets.push(ws.url());
	});
	await agendaItem(claire, 0).getByRole('button').first().click();
	await expect(claire.getByText('Vous consultez un autre point.')).toBeVisible();
	await expect(claire.getByTestId('notes-status')).toHaveText('Synchronisé');
	await claire.getByRole('button', { name: 'Revenir au point en cours' }).click();
	await expect(claire.getByTestId('case-title')).toHaveText(second);
	// A third case, never shown: its notes connect once, and stay.
	for (let i = 0; i < 2; i++) {
		await agendaItem(claire, 2).getByRole('button').first().click();
		await expect(claire.getByTestId('notes-status')).toHaveText('Synchronisé');
		await claire.getByRole('button', { name: 'Revenir au point en cours' }).click();
	}
	await expect(claire.getByTestId('notes-status')).toHaveText('Synchronisé');
	await camille.keyboard.type(' Revue dans un mois.');
	await expect(claire.getByRole('textbox', { name: 'Notes du cas' })).toHaveValue('Sevrage tabagique en cours, bonne alliance. Revue dans un mois.', { timeout: 1000 });
	// The first case was shown when the session started and the second since the pointer moved: the
	// way there and back opened nothing. The third connected once (the page used to reconnect on each
	// of these six moves).
	expect(notesSockets).toHaveLength(1);

	// One click records the decision, with an action for the psychologist: everyone sees it at once.
	await claire.getByRole('button', { name: 'Ajouter une action' }).click();
	await claire.getByRole('textbox', { name: 'Quoi' }).fill('Entretien de suivi dans quinze jours');
	await claire.getByRole('combobox', { name: 'Qui' }).selectOption({ label: 'Camille Durand (Psychologue)' });
	await claire.getByRole('button', { name: 'Poursuite', exact: true }).click();
	await expect(claire.getByRole('status').filter({ hasText: 'Décision enregistrée.' })).toBeVisible();
	for (const page of [camille, lucie]) {
		await expect(page.getByTestId('case-decision')).toContainText('Poursuite', { timeout: 1000 });
		await expect(page.getByTestId('case-decision')).toContainText('Entretien de suivi dans quinze jours');
	}

	// Ending follow-up needs its reason: the decision is refused in French without one.
	await agendaItem(claire, 0).getByRole('button').first().click();
	await expect(claire.getByText('Vous consultez un autre point.')).toBeVisible();
	await claire.getByRole('button', { name: 'Fin de suivi', exact: true }).click();
	await claire.getByRole('button', { name: 'Enregistrer la décision : Fin de suivi' }).click();
	await expect(claire.getByRole('alert')).toHaveText('Choisissez le motif de fin de suivi.');
	await claire.getByRole('button', { name: 'Revenir au point en cours' }).click();
	await expect(claire.getByTestId('case-title')).toHaveText(second);

	// The psychologist leaves: the quorum meter drops for those still there.
	await camille.context().close();
	await expect(claire.getByTestId('quorum-psychologue')).toHaveAttribute('data-met', 'false');
	await expect(claire.getByTestId('rcp-online')).not.toContainText('Camille Durand');
	await expectAxeClean(claire);

	// Closing locks the session and writes the minutes; the coordinator's tab follows.
	await claire.getByRole('button', { name: 'Clôturer la RCP' }).click();
	await claire.getByRole('group', { name: /Clôturer \?/ }).getByRole('button', { name: 'Clôturer la RCP' }).click();
	for (const page of [claire, lucie]) await expect(page.getByRole('heading', { level: 1, name: 'Compte rendu de RCP' })).toBeVisible();
	const attendance = claire.getByTestId('report-attendance');
	await expect(attendance.getByRole('listitem').filter({ hasText: 'Claire Muller' })).toHaveAttribute('data-attendance', 'present');
	await expect(attendance.getByRole('listitem').filter({ hasText: 'Camille Durand' })).toHaveAttribute('data-attendance', 'present');
	await expect(attendance.getByRole('listitem').filter({ hasText: 'Thomas Roth' })).toHaveAttribute('data-attendance', 'absent');
	const decided = claire.getByTestId('report-case').filter({ hasText: second });
	await expect(decided).toContainText('Poursuite');
	await expect(decided).toContainText('Entretien de suivi dans quinze jours');
	await expect(decided).toContainText('Sevrage tabagique en cours, bonne alliance. Revue dans un mois.');
	await expect(claire.getByTestId('report-case').filter({ hasText: 'Non abordé' }).first()).toBeVisible();
	await expectAxeClean(claire);
	const pdf = await claire.request.get(`${url}/compte-rendu/pdf`);
	expect(pdf.headers()['content-type']).toBe('application/pdf');

	// The coordinator adapts the template for this microstructure; a wrong value is refused in French.
	await lucie.goto(`${url.split('/rcp/')[0]}/rcp/trame`);
	await expect(lucie.getByRole('heading', { level: 1, name: 'Trame de RCP' })).toBeVisible();
	const msForm = lucie.getByRole('region', { name: 'Adapter pour cette microstructure' });
	await msForm.getByLabel('Minutes par cas').fill('0');
	await msForm.getByRole('button', { name: 'Enregistrer' }).click();
	await expect(msForm.getByText('Entre 2 et 60 minutes.')).toBeVisible();
	await msForm.getByLabel('Minutes par cas').fill('12');
	await msForm.getByRole('checkbox', { name: 'Travailleur·se social·e' }).uncheck();
	await msForm.getByRole('button', { name: 'Enregistrer' }).click();
	await expect(lucie.getByRole('status')).toHaveText('Trame enregistrée. Elle s’applique aux RCP planifiées ensuite.');
	await expect(lucie.getByRole('heading', { level: 2, name: /Trame propre à cette microstructure/ })).toBeVisible();
	await expectAxeClean(lucie);

	// The action lands on the psychologist's "À faire".
	const camilleAgain = await newUserPage(browser, 'camille.durand');
	await camilleAgain.getByRole('link', { name: 'À faire', exact: true }).click();
	await expect(camilleAgain.getByTestId('todo-rcp-actions')).toContainText('Entretien de suivi dans quinze jours');
});

test('a professional of another microstructure cannot open the session', async ({ browser }) => {
	const claire = await newUserPage(browser, 'claire.muller');
	const url = await planRcpToday(claire, 'RCP confidentielle');
	const jean = await newUserPage(browser, 'jean.leroux');
	const response = await jean.goto(url);
	expect(response?.status()).toBe(404);
	await expect(jean.getByRole('heading', { name: 'Page introuvable' })).toBeVisible();
	// Her own RCP overview does not list it either.
	await jean.goto('/rcp');
	await expect(jean.getByText('RCP confidentielle')).toHaveCount(0);
});
