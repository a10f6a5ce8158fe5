import { expect, test, newUserPage, ppsWithCamille, signIn } from './helpers';

test('two people typing in the same plain PPS field at once each keep their words', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	const pps = await ppsWithCamille(ines, 'Deuxmains');
	const camille = await newUserPage(browser, 'camille.durand');
	await camille.goto(pps);
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');

	await ines.getByRole('button', { name: 'Ajouter un objectif' }).click();
	const inesField = ines.getByRole('textbox', { name: 'Objectif', exact: true });
	const camilleField = camille.getByRole('textbox', { name: 'Objectif', exact: true });
	await expect(camilleField).toHaveCount(1);
	await inesField.click();
	await camilleField.click();
	await Promise.all([
		inesField.pressSequentially('alpha un deux trois', { delay: 40 }),
		camilleField.pressSequentially('bravo quatre cinq six', { delay: 40 })
	]);
	await expect.poll(async () => (await inesField.inputValue()) === (await camilleField.inputValue()), { timeout: 5000 }).toBe(true);
	const merged = await inesField.inputValue();
	expect(merged).toContain('alpha un deux trois');
	expect(merged).toContain('bravo quatre cinq six');
	expect(merged.length).toBe('alpha un deux trois'.length + 'bravo quatre cinq six'.length);

	// Stored as merged: a reload shows the same text.
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	await expect(camille.getByTestId('pps-status')).toHaveText('Enregistré');
	await ines.reload();
	await expect(ines.getByRole('textbox', { name: 'Objectif', exact: true })).toHaveValue(merged);
});

test('"Enregistré" leaves when text is deleted and comes back once the deletion is stored', async ({ browser }) => {
	const ines = await newUserPage(browser, 'ines.haddad');
	await ppsWithCamille(ines, 'Effacement');
	const evaluation = ines.getByLabel("Critères d'évaluation");
	await evaluation.click();
	const typed = 'Consommation déclarée, et seize de trop';
	await evaluation.pressSequentially(typed);
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	// The status flips on the first deletion: record every value it shows from now on.
	await ines.evaluate(() => {
		const seen: string[] = ((window as unknown as { statuses: string[] }).statuses = []);
		const status = document.querySelector('[data-testid="pps-status"]')!;
		new MutationObserver(() => seen.push(status.textContent ?? '')).observe(status, { childList: true, characterData: true, subtree: true });
	});
	for (let i = 0; i < 16; i++) await evaluation.press('Backspace');
	await expect(ines.getByTestId('pps-status')).toHaveText('Enregistré');
	expect(await ines.evaluate(() => (window as unknown as { statuses: string[] }).statuses)).toContain('Enregistrement…');
	await ines.reload();
	await expect(ines.getByLabel("Critères d'évaluation")).toHaveValue(typed.slice(0, -16));
});

test('signing out closes the live connections of that session in its other tabs, and their writes reach nobody', async ({ browser }) => {
	// Inès signs in once and opens the team page; Paul, a colleague, watches the same page.
	const context = await browser.newContext();
	const tab = await context.newPage();
	const closed: string[] = [];
	tab.on('websocket', (ws) => ws.on('close', () => closed.push(new URL(ws.url()).pathname)));
	await signIn(tab, 'ines.haddad');
	await tab.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await expect(tab.getByTestId('notes-status')).toHaveText('Synchronisé');
	// Navigating here closed the previous page's connections: only what closes from now on counts.
	closed.length = 0;
	const paul = await newUserPage(browser, 'paul.schmitt');
	await paul.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await expect(paul.getByTestId('online-list')).toContainText('Inès Haddad');
	// A second tab of Inès's browser: same session.
	const other = await context.newPage();
	await other.goto('/');

	// Plain "Se déconnecter" in the other tab.
	await other.getByRole('button', { name: 'Se déconnecter' }).click();
	await expect(other).toHaveURL(/\/login/);

	// The first tab's connections are closed by the server at once: presence and notes go offline.
	await expect(paul.getByTestId('online-list')).not.toContainText('Inès Haddad', { timeout: 5000 });
	await expect(tab.getByTestId('notes-status')).not.toHaveText('Synchronisé', { timeout: 5000 });
	expect(closed.some((path) => path.startsWith('/yjs/'))).toBe(true);
	expect(closed.some((path) => path.startsWith('/socket.io/'))).toBe(true);
	const notes = tab.getByRole('textbox', { name: "Notes d'équipe" });
	await notes.evaluate((el: HTMLTextAreaElement) => {
		el.disabled = false;
		el.value += ' ÉCRIT APRÈS DÉCONNEXION';
		el.dispatchEvent(new Event('input', { bubbles: true }));
	});
	await paul.waitForTimeout(1500);
	await expect(paul.getByRole('textbox', { name: "Notes d'équipe" })).not.toHaveValue(/ÉCRIT APRÈS DÉCONNEXION/);
	await context.close();
});
