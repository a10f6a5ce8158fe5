import { expect, test, type Page } from '@playwright/test';
import { expectAxeClean, newUserPage, submit } from './helpers';

/** Fills the inclusion form of the Cabinet des Tanneurs (Inès's microstructure) and submits it. */
async function fillInclusion(page: Page, p: { last: string; first: string; birth: string; orientation?: string }) {
	await page.getByRole('textbox', { name: 'Nom', exact: true }).fill(p.last);
	await page.getByRole('textbox', { name: 'Prénom' }).fill(p.first);
	await page.getByLabel('Date de naissance').fill(p.birth);
	await page.getByRole('radio', { name: 'Addiction', exact: true }).check();
	await page.getByRole('radio', { name: p.orientation ?? 'Les deux' }).check();
	await page.getByRole('radio', { name: /Consentement oral attesté/ }).check();
	await page.getByRole('button', { name: 'Inclure le patient' }).click();
}

async function openInclusion(page: Page) {
	await page.goto('/');
	await page.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).first().click();
	await page.getByRole('link', { name: 'Inclure un patient' }).first().click();
	await expect(page.getByRole('heading', { level: 1, name: 'Inclure un patient' })).toBeVisible();
}

test('a patient oriented to both reaches the psychologist and the social worker: their lists, their notifications, their PPS', async ({ browser }) => {
	test.slow();
	const ines = await newUserPage(browser, 'ines.haddad');
	await openInclusion(ines);
	await fillInclusion(ines, { last: 'Orientée', first: 'Maëlys', birth: '1983-06-17' });
	await expect(ines.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	// The first appointment is with the people now in the care team, named.
	await expect(ines.getByText('Prendre le premier rendez-vous avec Camille Durand (psychologue) et Karim Mansouri (travailleur·se social·e)')).toBeVisible();
	await expect(ines.getByRole('heading', { name: 'À qui orienter ce patient ?' })).toHaveCount(0);
	const team = ines.locator('#equipe');
	for (const name of ['Inès Haddad', 'Camille Durand', 'Karim Mansouri']) await expect(team.getByRole('checkbox', { name: new RegExp(name) })).toBeChecked();
	await expect(team.getByRole('checkbox', { name: /Paul Schmitt/ })).not.toBeChecked();
	const record = new URL(ines.url()).pathname;
	const code = (await ines.locator('.code').first().textContent())!.trim();

	for (const login of ['camille.durand', 'karim.mansouri']) {
		const page = await newUserPage(browser, login);
		// The notification, to them, naming the patient.
		await page.goto('/notifications');
		await expect(page.getByTestId('notifications').getByRole('link', { name: `Nouvelle orientation : ORIENTÉE Maëlys (${code})`, exact: true })).toBeVisible();
		// Their list: the patients of their care teams.
		await page.goto(`${record.replace(/\/[^/]+$/, '')}?equipe=1`);
		await expect(page.getByTestId('patient-list')).toContainText('ORIENTÉE Maëlys');
		// They edit the plan.
		await page.goto(`${record}/pps`);
		await expect(page.getByTestId('pps-status')).toHaveText('Enregistré');
		await expect(page.getByTestId('pps-readonly-reason')).toHaveCount(0);
		await page.getByTestId('pps-goals').click();
		await page.keyboard.type(`Objectif de ${login}.`);
		await expect(page.getByTestId('pps-status')).toHaveText('Enregistré');
		await expect(page.getByTestId('pps-goals')).toContainText(`Objectif de ${login}.`);
		await page.context().close();
	}
	// Paul, another GP of the microstructure, got nothing.
	const paul = await newUserPage(browser, 'paul.schmitt');
	await paul.goto('/notifications');
	await expect(paul.locator('body')).not.toContainText(code);
});

test('a duplicate inclusion is caught with what was typed kept, and a namesake can still be confirmed', async ({ browser }) => {
	test.slow();
	const ines = await newUserPage(browser, 'ines.haddad');
	await openInclusion(ines);
	await fillInclusion(ines, { last: "N'Diaye-Lefèvre", first: 'Marie-Claire', birth: '1977-02-03' });
	await expect(ines.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	const first = new URL(ines.url()).pathname;

	// The same person, typed otherwise: no accents, upper case, spaces for hyphens, no apostrophe.
	await openInclusion(ines);
	await fillInclusion(ines, { last: 'NDIAYE LEFEVRE', first: 'marie claire', birth: '1977-02-03', orientation: 'Psychologue' });
	const match = ines.getByTestId('duplicate');
	await expect(match.getByRole('heading', { name: 'Ce patient est peut-être déjà enregistré' })).toBeFocused();
	await expect(ines.getByRole('alert')).toHaveText('Ce patient est peut-être déjà enregistré');
	await expect(match).toContainText("N'DIAYE-LEFÈVRE Marie-Claire");
	await expect(match.getByRole('link', { name: /Ouvrir le dossier/ })).toHaveAttribute('href', first);
	// Nothing typed is lost.
	await expect(ines.getByRole('textbox', { name: 'Nom', exact: true })).toHaveValue('NDIAYE LEFEVRE');
	await expect(ines.getByRole('textbox', { name: 'Prénom' })).toHaveValue('marie claire');
	await expect(ines.getByLabel('Date de naissance')).toHaveValue('1977-02-03');
	await expect(ines.getByRole('radio', { name: 'Psychologue' })).toBeChecked();
	await expect(ines.getByRole('radio', { name: /Consentement oral attesté/ })).toBeChecked();
	await expectAxeClean(ines);

	// It is someone else with the same name and birth date: confirmed, created, audited.
	await ines.getByRole('button', { name: 'C’est un homonyme' }).click();
	await expect(ines.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	expect(new URL(ines.url()).pathname).not.toBe(first);
	await expect(ines.getByRole('heading', { level: 1, name: 'NDIAYE LEFEVRE marie claire' })).toBeVisible();

	// From another microstructure of the network the record only exists: no name, no code, no link.
	const camille = await newUserPage(browser, 'camille.durand');
	await camille.goto('/');
	await camille.getByRole('main').getByRole('link', { name: /MSP du Neuhof/ }).first().click();
	await camille.getByRole('link', { name: 'Inclure un patient' }).first().click();
	await fillInclusion(camille, { last: 'Ndiaye-Lefevre', first: 'Marie Claire', birth: '1977-02-03' });
	const elsewhere = camille.getByTestId('duplicate');
	await expect(elsewhere).toContainText('Un dossier existe pour cette personne dans une autre microstructure du réseau.');
	await expect(elsewhere.getByRole('link')).toHaveCount(0);
	await expect(elsewhere).not.toContainText('P-');
	await expect(elsewhere).not.toContainText('Tanneurs');
	await submit(camille, 'Demander le transfert');
	await expect(camille.getByRole('status').filter({ hasText: 'Demande de transfert envoyée à l’équipe qui suit cette personne et à la coordination du réseau.' })).toBeVisible();
	await expect(camille.getByRole('textbox', { name: 'Nom', exact: true })).toHaveValue('Ndiaye-Lefevre');
});

test('a colleague outside the care team is told why the PPS is read-only, asks, and is added in one click', async ({ browser }) => {
	test.slow();
	const ines = await newUserPage(browser, 'ines.haddad');
	await openInclusion(ines);
	await fillInclusion(ines, { last: 'Accèsdemandé', first: 'Hugo', birth: '1969-09-09' });
	await expect(ines.getByRole('heading', { name: 'Patient inclus — et maintenant ?' })).toBeVisible();
	const record = new URL(ines.url()).pathname;

	const paul = await newUserPage(browser, 'paul.schmitt');
	await paul.goto(`${record}/pps`);
	const why = paul.getByTestId('pps-readonly-reason');
	await expect(why).toContainText('Vous n’êtes pas dans l’équipe de soins de ce patient');
	await expect(why).toContainText('Demandez à y être ajouté·e.');
	await expectAxeClean(paul);
	await submit(paul, 'Demander l’accès');
	await expect(paul.getByRole('status').filter({ hasText: 'Demande envoyée à l’équipe de soins' })).toBeVisible();
	await paul.reload();
	await expect(paul.getByTestId('access-asked')).toContainText('Demande d’accès envoyée le');
	await expect(paul.getByRole('button', { name: 'Demander l’accès' })).toHaveCount(0);

	// Inès sees the request in her notifications and answers it there, in one click.
	await ines.goto('/notifications');
	const request = ines.getByTestId('notifications').getByRole('listitem').filter({ hasText: 'Demande d’accès au PPS' }).first();
	await expect(request).toContainText('ACCÈSDEMANDÉ Hugo');
	await expect(request).toContainText('Paul Schmitt (Médecin généraliste) demande à rejoindre l’équipe de soins.');
	await request.getByRole('button', { name: /Ajouter à l’équipe/ }).click();
	await expect(ines.getByRole('status').filter({ hasText: 'Paul Schmitt a rejoint l’équipe de soins.' })).toBeVisible();
	await expect(ines.locator('#equipe').getByRole('checkbox', { name: /Paul Schmitt/ })).toBeChecked();
	await ines.goto('/notifications');
	await expect(ines.getByTestId('notifications').getByRole('button', { name: /Ajouter à l’équipe/ })).toHaveCount(0);

	// Paul now edits the plan.
	await paul.reload();
	await expect(paul.getByTestId('pps-readonly-reason')).toHaveCount(0);
	await paul.getByTestId('pps-goals').click();
	await paul.keyboard.type('Paul écrit.');
	await expect(paul.getByTestId('pps-status')).toHaveText('Enregistré');

	// The secretariat is told why the team notes are read-only, with nothing to ask.
	const nadia = await newUserPage(browser, 'nadia.benali');
	await nadia.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).first().click();
	await expect(nadia.getByTestId('notes-readonly-reason')).toHaveText('Le secrétariat lit les notes d’équipe sans les modifier.');
});
