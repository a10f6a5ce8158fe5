import type { Page } from '@playwright/test';
import { expect, test, expectAxeClean, newUserPage, signInCoordinator, submit } from './helpers';

const CODE = /P-[A-Z2-7]{4}-[A-Z2-7]{4}/;
/** "NOM Prénom (P-XXXX-XXXX)": a name, then the code beside it. */
const NAME_AND_CODE = /^[^()]+\S \(P-[A-Z2-7]{4}-[A-Z2-7]{4}\)$/;

/** Waits for every streamed section of the page to have arrived. */
async function settled(page: Page) {
	await expect(page.locator('.loading')).toHaveCount(0);
}

/** The page fits a 360 px screen: nothing scrolls sideways. */
async function fitsPhone(page: Page) {
	const size = page.viewportSize();
	await page.setViewportSize({ width: 360, height: 780 });
	await settled(page);
	const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
	expect(overflow, `${page.url()} scrolls sideways at 360 px`).toBeLessThanOrEqual(0);
	if (size) await page.setViewportSize(size);
}

/** Opens a microstructure from the home page and returns its path. */
async function openMicrostructure(page: Page, name: RegExp): Promise<string> {
	await page.goto('/');
	await page.getByTestId('home-microstructures').getByRole('link', { name }).click();
	await expect(page).toHaveURL(/\/ms\/[0-9a-f-]{36}$/);
	return new URL(page.url()).pathname;
}

test("a GP's home: the live RCP to join, her À faire by name and code, one tap to include", async ({ browser }) => {
	test.slow();
	const emilie = await newUserPage(browser, 'emilie.wagner');
	const msPath = await openMicrostructure(emilie, /Centre de santé de Haguenau/);
	// She plans an RCP today and starts it.
	const title = `RCP de l'accueil ${Date.now()}`;
	await emilie.goto(`${msPath}/rcp`);
	await emilie.locator('#o-title').fill(title);
	await emilie.getByRole('button', { name: 'Planifier une RCP ponctuelle' }).click();
	await expect(emilie.getByRole('heading', { level: 1, name: title })).toBeVisible();
	await submit(emilie, 'Démarrer la RCP');
	await expect(emilie.getByTestId('rcp-status')).toHaveText('En cours');

	await emilie.goto('/');
	await settled(emilie);
	const week = emilie.getByTestId('home-rcp');
	// Live sessions come first, with a one-click way in.
	await expect(week.getByTestId('overview-session').first()).toContainText('En cours');
	const card = week.getByTestId('overview-session').filter({ hasText: title });
	await expect(card).toContainText('En cours');
	await expect(card.getByRole('link', { name: 'Rejoindre', exact: true })).toBeVisible();

	// "À faire": counts, and the most urgent patients by name with their code.
	const todo = emilie.getByTestId('home-todo');
	await expect(todo.getByRole('link', { name: 'Voir la liste complète' })).toHaveAttribute('href', '/a-faire');
	const first = todo.getByTestId('home-todo-items').getByRole('link').first();
	await expect(first).toHaveText(NAME_AND_CODE);
	await expect(emilie.getByTestId('home-recent').getByRole('link').first()).toHaveText(NAME_AND_CODE);

	// One tap to include, in her microstructure.
	const include = emilie.getByTestId('home-include').getByRole('link', { name: 'Inclure un patient', exact: true });
	await expect(include).toHaveAttribute('href', `${msPath}/patients/nouveau`);
	await expectAxeClean(emilie);
	await fitsPhone(emilie);

	await card.getByRole('link', { name: 'Rejoindre', exact: true }).click();
	await expect(emilie.getByRole('heading', { level: 1, name: title })).toBeVisible();

	// The full "À faire" list names every patient beside the code.
	await emilie.goto('/a-faire');
	const items = emilie.locator('[data-testid^="todo-"]:not([data-testid="todo-rcp-actions"])').getByRole('link');
	await expect(items.first()).toHaveText(NAME_AND_CODE);
	for (const text of await items.allTextContents()) expect(text.trim()).toMatch(NAME_AND_CODE);
	await expectAxeClean(emilie);
	await fitsPhone(emilie);

	for (const path of ['/rcp', '/notifications']) {
		await emilie.goto(path);
		await expectAxeClean(emilie);
		await fitsPhone(emilie);
	}
	await emilie.goto('/');
	await include.click();
	await expect(emilie.getByRole('heading', { level: 1, name: 'Inclure un patient' })).toBeVisible();
});

test('the secretariat sees the RCP schedule and no patient anywhere in the page or its data', async ({ browser }) => {
	test.slow();
	// What the care team of the Cabinet des Tanneurs sees: its patients' ids, codes and names.
	const ines = await newUserPage(browser, 'ines.haddad');
	const msPath = await openMicrostructure(ines, /Cabinet des Tanneurs/);
	await ines.goto(`${msPath}/patients?etat=tous`);
	const links = ines.getByTestId('patient-list').getByRole('link');
	await expect(links.first()).toBeVisible();
	const secrets = new Set<string>();
	for (const link of await links.all()) {
		secrets.add((await link.getAttribute('href'))!.split('/').pop()!);
		const name = (await link.locator('strong').textContent())!.trim();
		if (name !== '—') secrets.add(name);
		secrets.add((await link.locator('.code').textContent())!.trim());
	}
	expect(secrets.size).toBeGreaterThan(10);

	const nadia = await newUserPage(browser, 'nadia.benali');
	/** The page as drawn, its HTML (with the data it hydrates from) and its __data.json. */
	async function everything(path: string) {
		const data = await nadia.request.get(`${path === '/' ? '' : path}/__data.json`);
		expect(data.status()).toBe(200);
		return [await nadia.locator('body').innerText(), await nadia.content(), await data.text()];
	}
	/** `welcomed`: the patients of today's appointments, whom the secretariat receives (issue 12: name, time, professional, room). */
	async function expectNoPatient(path: string, welcomed: string[] = []) {
		for (const raw of await everything(path)) {
			const text = welcomed.reduce((t, w) => t.split(w).join(''), raw);
			expect(text).not.toMatch(CODE);
			for (const secret of secrets) if (!welcomed.includes(secret)) expect(text, `${path} reveals ${secret}`).not.toContain(secret);
		}
	}

	// Home: what she can do today, and this week's schedule.
	await nadia.goto('/');
	await settled(nadia);
	const today = nadia.getByTestId('home-secretariat');
	await expect(today.getByRole('link', { name: "Lire les notes d'équipe (lecture seule)" })).toHaveAttribute('href', `${msPath}#team-notes`);
	await expect(today.getByRole('link', { name: 'Consulter le planning des RCP' })).toHaveAttribute('href', `${msPath}/rcp`);
	await expect(today.getByRole('link', { name: 'Rendez-vous et agenda' })).toHaveAttribute('href', `${msPath}/rendez-vous`);
	await expect(nadia.getByTestId('home-todo')).toHaveCount(0);
	await expect(nadia.getByTestId('home-recent')).toHaveCount(0);
	// Today's appointments name the patients she welcomes, and no one else.
	const appointments = nadia.getByTestId('home-appointments');
	await expect(appointments).toBeVisible();
	const welcomed = [
		...(await appointments.locator('[data-appointment] .patient').allInnerTexts()).flatMap((t) => t.split(/\s+(?=P-)/).map((x) => x.trim())),
		...(await appointments.locator('[data-appointment] .patient a').evaluateAll((links) => links.map((a) => a.getAttribute('href')!.split('/').pop()!)))
	];
	await expectNoPatient('/', welcomed);
	await expectAxeClean(nadia);
	await fitsPhone(nadia);

	// /rcp: the planned sessions, when and where, no way into an agenda.
	await nadia.goto('/rcp');
	const sessions = nadia.getByTestId('overview-session');
	await expect(sessions.first()).toBeVisible();
	await expect(nadia.getByText('Aucune RCP prévue.')).toHaveCount(0);
	for (const s of await sessions.all()) {
		await expect(s).toHaveAttribute('data-access', 'schedule');
		await expect(s).toContainText('Cabinet des Tanneurs');
		await expect(s.getByRole('link', { name: /Rejoindre|Ouvrir|Observer/ })).toHaveCount(0);
		await expect(s).not.toContainText('à discuter');
	}
	await expectNoPatient('/rcp');
	await expectAxeClean(nadia);
	await fitsPhone(nadia);

	// The microstructure's RCP page: the schedule, no agenda, no planning form.
	expect((await nadia.goto(`${msPath}/rcp`))?.status()).toBe(200);
	await expect(nadia.getByRole('heading', { level: 1, name: 'Planning des RCP' })).toBeVisible();
	await expect(nadia.getByTestId('rcp-schedule').getByTestId('overview-session').first()).toBeVisible();
	await expect(nadia.getByRole('button', { name: 'Planifier une RCP ponctuelle' })).toHaveCount(0);
	await expectNoPatient(`${msPath}/rcp`);
	await expectAxeClean(nadia);
	await fitsPhone(nadia);
	// The patients stay closed.
	expect((await nadia.goto(`${msPath}/patients`))?.status()).toBe(404);
});

test('a coordinator: her microstructures with what is pending; the audit log and "Consulté par" in French, naming the patient', async ({ page }) => {
	test.slow();
	await signInCoordinator(page, 'sophie.klein');
	// Her home: the microstructures she coordinates, with what is pending there (counts).
	await settled(page);
	const coordination = page.getByTestId('home-coordination');
	await expect(coordination.getByRole('heading', { name: 'Cabinet des Tanneurs' })).toBeVisible();
	await expect(coordination).toContainText('Renouvellements à faire');
	await expect(coordination.locator('a[href$="/patients?renouvellement=1"]').first()).toHaveText(/^\d+$/);
	await expectAxeClean(page);
	await fitsPhone(page);

	const msPath = await openMicrostructure(page, /Cabinet des Tanneurs/);
	await page.goto(`${msPath}/patients`);
	const link = page.getByTestId('patient-list').getByRole('link').first();
	const name = (await link.locator('strong').textContent())!.trim();
	const code = (await link.locator('.code').textContent())!.trim();
	await link.click();
	await expect(page).toHaveURL(/\/patients\/[0-9a-f-]{36}$/);
	const log = page.getByTestId('access-log');
	await expect(log).toContainText('Sophie Klein');
	await expect(log).toContainText('Consultation du dossier patient');
	await expect(log).not.toContainText('(read)');
	await expect(log).not.toContainText('patient.');

	await page.goto('/admin/audit');
	const table = page.getByTestId('audit-table');
	await expect(table).toContainText('Consultation du dossier patient');
	await expect(table).toContainText(`${name} (${code})`);
	// No raw action code (e-mail addresses, the target of sign-ins, aside).
	const text = (await table.innerText()).replace(/\S+@\S+/g, '');
	expect(text).not.toMatch(/\b[a-z]+\.[a-z_]+\b/);
	expect(text).not.toMatch(/\((read|exported)\)/);
	await expectAxeClean(page);
	await fitsPhone(page);
});
