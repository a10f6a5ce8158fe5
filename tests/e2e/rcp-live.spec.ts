// The live RCP as a team meets it in its first week: attendance that says who really took part,
// a session started on another day than planned, and the live page on a phone (no sideways
// scrolling, the PPS editor fetched only when the PPS is opened).
import type { Page } from '@playwright/test';
import { expect, expectPhoneLayout, newUserPage, signInCoordinator, submit, test } from './helpers';

/** A Paris calendar day, `offset` days from today. */
function parisDay(offset = 0): string {
	return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(new Date(Date.now() + offset * 86_400_000));
}

/** Next Monday in Paris (a week from today when today is a Monday). */
function nextMonday(): string {
	const weekday = new Date(`${parisDay()}T12:00:00Z`).getUTCDay();
	return parisDay((8 - weekday) % 7 || 7);
}

/** Claire (GP at the MSP du Neuhof) plans a one-off RCP and opens it. */
async function planRcp(claire: Page, title: string, date: string, start: string, end: string): Promise<string> {
	await claire.getByRole('main').getByRole('link', { name: /MSP du Neuhof/ }).first().click();
	await claire.getByRole('main').getByRole('link', { name: 'RCP', exact: true }).click();
	await expect(claire.getByRole('heading', { level: 1, name: 'Réunions de concertation pluriprofessionnelle' })).toBeVisible();
	await claire.locator('#o-title').fill(title);
	await claire.locator('#o-date').fill(date);
	await claire.locator('#o-start').fill(start);
	await claire.locator('#o-end').fill(end);
	await claire.getByRole('button', { name: 'Planifier une RCP ponctuelle' }).click();
	await expect(claire.getByRole('heading', { level: 1, name: title })).toBeVisible();
	return new URL(claire.url()).pathname;
}

async function closeRcp(page: Page) {
	await page.getByRole('button', { name: 'Clôturer la RCP' }).click();
	await page.getByRole('group', { name: /Clôturer \?/ }).getByRole('button', { name: 'Clôturer la RCP' }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Compte rendu de RCP' })).toBeVisible();
}

/** A coordinator signs in in a browser of their own, opens the live session and leaves it seconds later. */
async function glance(browser: import('@playwright/test').Browser, login: string, name: string, url: string, claire: Page) {
	const context = await browser.newContext();
	const page = await context.newPage();
	await signInCoordinator(page, login);
	await page.goto(url);
	// Joining reads and writes the session's state: give a loaded machine some time.
	await expect(page.getByTestId('rcp-online')).toContainText(name, { timeout: 20_000 });
	// Everybody who came is on the sheet, coordinators included, and not counted present for it.
	const line = claire.getByTestId('attendance').getByRole('row').filter({ hasText: name });
	await expect(line).toBeVisible();
	await expect(line.getByRole('combobox')).toHaveValue('');
	await context.close();
	await expect(claire.getByTestId('rcp-online')).not.toContainText(name);
}

test('a coordinator who looks at a live session for seconds is not present in the minutes unless the sheet says so', async ({ browser }) => {
	// Three people, two of them signing in with a second factor.
	test.slow();
	const claire = await newUserPage(browser, 'claire.muller');
	const url = await planRcp(claire, 'RCP des présences', parisDay(), '18:00', '19:00');
	// On its day, starting asks nothing.
	await submit(claire, 'Démarrer la RCP');
	await expect(claire.getByTestId('rcp-status')).toHaveText('En cours');
	await expect(claire.getByTestId('off-day')).toHaveCount(0);

	// Claire decides the first case: she was there when a decision was taken, she attended.
	await claire.getByRole('button', { name: 'Poursuite', exact: true }).click();
	await expect(claire.getByRole('status').filter({ hasText: 'Décision enregistrée.' })).toBeVisible();
	const sheet = claire.getByTestId('attendance');
	await expect(sheet.getByRole('row').filter({ hasText: 'Claire Muller' }).getByRole('combobox')).toHaveValue('present');
	await expect(sheet.getByRole('row').filter({ hasText: 'Claire Muller' })).toContainText('présent·e lors d’une décision');
	await expect(claire.getByText('La présence compte après 5 minutes de participation')).toBeVisible();

	// Two coordinators look in for a few seconds; the sheet says the second one did attend (by phone).
	await glance(browser, 'lucie.gauthier', 'Lucie Gauthier', url, claire);
	await glance(browser, 'sophie.klein', 'Sophie Klein', url, claire);
	await sheet.getByRole('combobox', { name: 'Présence de Sophie Klein' }).selectOption('distance');
	await expect(sheet.getByRole('row').filter({ hasText: 'Sophie Klein' })).toContainText('corrigé');

	await closeRcp(claire);
	const minutes = claire.getByTestId('report-attendance').getByRole('listitem');
	await expect(minutes.filter({ hasText: 'Claire Muller' })).toHaveAttribute('data-attendance', 'present');
	await expect(minutes.filter({ hasText: 'Lucie Gauthier' })).toHaveAttribute('data-attendance', 'absent');
	await expect(minutes.filter({ hasText: 'Sophie Klein' })).toHaveAttribute('data-attendance', 'distance');
	await expect(minutes.filter({ hasText: 'Sophie Klein' })).toContainText('À distance');
});

test("a GP starting next Monday's RCP today is asked, and moves it to today; the minutes carry today's date alone", async ({ browser }) => {
	const claire = await newUserPage(browser, 'claire.muller');
	const monday = nextMonday();
	const url = await planRcp(claire, 'RCP du lundi', monday, '07:00', '07:45');
	const mondayInWords = new Intl.DateTimeFormat('fr-FR', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(new Date(`${monday}T12:00:00Z`)).replace(/^(\D+) 1 /, '$1 1er ');

	// Starting asks first, saying when it is planned; cancelling the question starts nothing.
	await claire.getByRole('button', { name: 'Démarrer la RCP' }).click();
	const asked = claire.getByTestId('off-day');
	await expect(asked.getByRole('heading', { name: 'Cette RCP est prévue un autre jour' })).toBeVisible();
	await expect(asked).toContainText(mondayInWords.split(' ').slice(1).join(' '));
	await asked.getByRole('button', { name: 'Annuler' }).click();
	await expect(asked).toHaveCount(0);
	await expect(claire.getByTestId('rcp-status')).toHaveText('Planifiée');

	// Impossible or hostile values are refused in French, and nothing moves.
	const action = await claire.request.post(`${url}?/moveToday`, { form: { date: '2027-02-30', startTime: '25:61' }, headers: { origin: new URL(claire.url()).origin, 'x-sveltekit-action': 'true' } });
	const refused = await action.text();
	expect(refused).toContain('Date invalide.');
	expect(refused).toContain('Heure invalide (HH:MM).');
	const tomorrow = await claire.request.post(`${url}?/moveToday`, { form: { date: parisDay(1), startTime: '07:00' }, headers: { origin: new URL(claire.url()).origin, 'x-sveltekit-action': 'true' } });
	expect(await tomorrow.text()).toContain('Une RCP ne peut être déplacée qu’à aujourd’hui.');
	await claire.reload();
	await expect(claire.getByTestId('rcp-status')).toHaveText('Planifiée');

	// Moved to today at 06:10 (it keeps its 45 minutes) and started in one go.
	await claire.getByRole('button', { name: 'Démarrer la RCP' }).click();
	await asked.getByLabel('Début aujourd’hui à').fill('06:10');
	await submit(claire, 'Déplacer à aujourd’hui et démarrer');
	await expect(claire.getByRole('status').filter({ hasText: 'RCP déplacée à aujourd’hui et démarrée.' })).toBeVisible();
	await expect(claire.getByTestId('rcp-status')).toHaveText('En cours');
	const todayInWords = new Intl.DateTimeFormat('fr-FR', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Paris' }).format(new Date()).replace(/^1 /, '1er ');
	await expect(claire.getByText(/06:10–06:55/)).toBeVisible();

	await closeRcp(claire);
	const header = claire.getByRole('heading', { level: 1, name: 'Compte rendu de RCP' }).locator('..');
	await expect(header).toContainText(todayInWords);
	await expect(header).toContainText('06:10–06:55');
	await expect(header).toContainText(/Clôturée à \d\d:\d\d/);
	await expect(header).not.toContainText(mondayInWords.split(' ').slice(1).join(' '));
});

test('the live RCP on a phone: no sideways scrolling at 360 and 390 px, one <main>, and the PPS editor fetched only when the PPS is opened', async ({ browser }) => {
	const camille = await newUserPage(browser, 'camille.durand', { viewport: { width: 390, height: 844 } });
	const scripts: string[] = [];
	camille.on('response', (r) => {
		if (r.url().includes('/_app/immutable/') && r.url().endsWith('.js')) scripts.push(r.url());
	});
	// The demo's live session at the Cabinet des Tanneurs, as an observer (her presence is not the point here).
	await camille.goto('/rcp');
	const live = camille.getByTestId('overview-session').filter({ hasText: 'Cabinet des Tanneurs' }).filter({ hasText: 'En cours' }).first();
	await live.getByRole('link', { name: 'Observer' }).click();
	await expect(camille.getByTestId('rcp-status')).toHaveText('En cours');
	await expect(camille.getByTestId('rcp-online')).toBeVisible();
	await expect(camille.getByTestId('case-title')).toBeVisible();
	await expect(camille.locator('main')).toHaveCount(1);
	await expectPhoneLayout(camille);

	// The PPS: its editor comes when it is opened, with a loading state, and fits the phone too.
	const before = scripts.length;
	await camille.getByRole('button', { name: 'Afficher le PPS' }).click();
	await expect(camille.getByRole('button', { name: 'Masquer le PPS' })).toBeVisible();
	await expect(camille.locator('.ProseMirror').first()).toBeVisible();
	expect(scripts.length).toBeGreaterThan(before);
	await expectPhoneLayout(camille);

	// The network drops (a lift, a tunnel): once the connection is found dead, the top of the page says
	// so, not only the presence list far below; back on the network, the page rejoins by itself.
	await camille.context().setOffline(true);
	await expect(camille.getByTestId('rcp-lost')).toContainText('Connexion perdue', { timeout: 30_000 });
	await camille.context().setOffline(false);
	await expect(camille.getByTestId('rcp-lost')).toHaveCount(0, { timeout: 30_000 });
	await expect(camille.getByTestId('rcp-online')).toContainText('Camille Durand');
});

test('English is fetched only by those who read it, and then used on every page, client-side navigation included', async ({ browser }) => {
	const sarah = await newUserPage(browser, 'sarah.cohen');
	const english: string[] = [];
	sarah.on('response', (r) => {
		if (/\/_app\/immutable\/.*\.js$/.test(r.url())) english.push(r.url());
	});
	await sarah.goto('/compte');
	await sarah.getByLabel('Langue').selectOption('en');
	await submit(sarah, 'Enregistrer');
	// The page reloads its data in the browser: the dictionary arrives and the page speaks English.
	await expect(sarah.getByRole('heading', { level: 1, name: 'My account' })).toBeVisible();
	expect(english.length).toBeGreaterThan(0);
	await sarah.getByRole('link', { name: 'Meetings', exact: true }).click();
	await expect(sarah.getByRole('heading', { level: 1, name: 'My meetings' })).toBeVisible();
	await sarah.reload();
	await expect(sarah.getByRole('heading', { level: 1, name: 'My meetings' })).toBeVisible();
	// Back to French, as the demo has her.
	await sarah.goto('/compte');
	await sarah.getByLabel('Language').selectOption('fr');
	await submit(sarah, 'Save');
	await expect(sarah.getByRole('heading', { level: 1, name: 'Mon compte' })).toBeVisible();
});
