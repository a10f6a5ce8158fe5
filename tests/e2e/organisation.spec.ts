import { expect, test, expectAxeClean, mailedInvitation, signIn, signInCoordinator, signInHome, submit } from './helpers';

test('a psychologist switches between her microstructures', async ({ page }) => {
	await signInHome(page, 'camille.durand');
	await expect(page.getByTestId('home-microstructures').getByRole('link')).toHaveCount(3);
	await page.getByText('Mes microstructures').click();
	await page.getByRole('navigation').getByRole('link', { name: /MSP du Neuhof/ }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'MSP du Neuhof' })).toBeVisible();
	await expect(page.getByText('MSPC — post-Covid')).toBeVisible();
	await expectAxeClean(page);
	await page.getByText('Mes microstructures').click();
	await expect(page.getByRole('navigation').getByRole('link', { name: /MSP du Neuhof/ })).toHaveAttribute('aria-current', 'page');
	await page.getByRole('navigation').getByRole('link', { name: /Centre de santé de Haguenau/ }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Centre de santé de Haguenau' })).toBeVisible();
	// Another network's microstructure is absent from the switcher.
	await page.getByText('Mes microstructures').click();
	await expect(page.getByRole('navigation').getByRole('link', { name: /Rezé/ })).toHaveCount(0);
});

test("a microstructure of another network answers 404, like an unknown id", async ({ page, browser }) => {
	// Find the id of a Loire-Atlantique microstructure through its own team.
	const other = await (await browser.newContext()).newPage();
	await signInHome(other, 'luc.martin');
	await other.getByRole('main').getByRole('link', { name: /MSP de Rezé/ }).click();
	await expect(other.getByRole('heading', { level: 1, name: 'MSP de Rezé' })).toBeVisible();
	const rezeUrl = new URL(other.url()).pathname;

	await signInHome(page, 'ines.haddad');
	const response = await page.goto(rezeUrl);
	expect(response?.status()).toBe(404);
	await expect(page.getByRole('heading', { name: 'Page introuvable' })).toBeVisible();
	const unknown = await page.goto('/ms/7d9a4a52-0c39-4c7e-9d0e-0a3f2d7b1c11');
	expect(unknown?.status()).toBe(404);
	// A GP cannot manage members.
	const own = await page.goto('/');
	expect(own?.status()).toBe(200);
	await page.getByRole('main').getByRole('link', { name: /Cabinet des Tanneurs/ }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'Cabinet des Tanneurs' })).toBeVisible();
	const msPath = new URL(page.url()).pathname;
	const members = await page.goto(`${msPath}/membres`);
	expect(members?.status()).toBe(403);
});

test('a network administrator invites a social worker who joins through the link', async ({ page, browser }) => {
	await signInCoordinator(page, 'julie.morel');
	await page.goto('/admin');
	await page.getByRole('link', { name: 'Dispositif Microstructures Loire-Atlantique' }).click();
	await page.getByRole('link', { name: /Gérer les membres — MSP de Rezé/ }).click();
	await expect(page.getByRole('heading', { level: 1, name: /Membres — MSP de Rezé/ })).toBeVisible();
	await expectAxeClean(page);

	// Missing and invalid fields are reported one by one, in French, and nothing is lost.
	await page.getByLabel('Prénom').fill('Sonia');
	await page.getByLabel('Adresse e-mail').fill('sonia.lefebvre@exemple');
	await submit(page, "Envoyer l'invitation");
	await expect(page.getByText('Ce champ est obligatoire.')).toBeVisible();
	await expect(page.getByText('Adresse e-mail invalide.')).toBeVisible();
	await expect(page.getByLabel('Prénom')).toHaveValue('Sonia');

	await page.getByRole('textbox', { name: 'Nom', exact: true }).fill('Lefebvre');
	await page.getByLabel('Adresse e-mail').fill('sonia.lefebvre@exemple.fr');
	await page.getByLabel('Profession').selectOption({ label: 'Travailleur·se social·e' });
	await page.getByLabel('Rôle').selectOption({ label: 'Équipe de soins' });
	const since = Date.now();
	await submit(page, "Envoyer l'invitation");
	// The end-to-end server has a mail server: the link goes to her, not to the screen.
	await expect(page.getByRole('status')).toHaveText('Invitation envoyée à sonia.lefebvre@exemple.fr.');
	const link = await mailedInvitation('sonia.lefebvre@exemple.fr', since);
	expect(link).toMatch(/\/invitation\/[a-z2-7]{32}$/);
	await expect(page.getByText('sonia.lefebvre@exemple.fr', { exact: false }).first()).toBeVisible();

	const guest = await (await browser.newContext()).newPage();
	await guest.goto(link);
	await expect(guest.getByRole('heading', { name: 'Rejoindre MSP de Rezé' })).toBeVisible();
	await expectAxeClean(guest);
	await guest.getByLabel('Mot de passe (10 caractères minimum)').fill('Sonia-Rezé-2026');
	await guest.getByLabel('Confirmez le mot de passe').fill('Sonia-Reze-2026');
	await submit(guest, 'Rejoindre');
	await expect(guest.getByText('Les deux mots de passe ne correspondent pas.')).toBeVisible();
	await guest.getByLabel('Mot de passe (10 caractères minimum)').fill('Sonia-Reze-2026');
	await guest.getByLabel('Confirmez le mot de passe').fill('Sonia-Reze-2026');
	await guest.getByRole('button', { name: 'Rejoindre' }).click();
	await expect(guest.getByRole('heading', { level: 1, name: 'MSP de Rezé', exact: true })).toBeVisible();

	// The link is single-use.
	const again = await (await browser.newContext()).newPage();
	await again.goto(link);
	await expect(again.getByText("Ce lien d'invitation n'est plus valable")).toBeVisible();

	// The administrator sees her in the team, and can end the membership with a confirmation.
	await page.reload();
	const row = page.getByTestId('current-members').getByRole('listitem').filter({ hasText: 'Sonia Lefebvre' });
	await expect(row).toBeVisible();
	await row.getByRole('button', { name: 'Mettre fin' }).click();
	await row.getByRole('button', { name: 'Confirmer' }).click();
	await expect(page.getByRole('status')).toHaveText('Participation terminée.');
	await expect(page.getByTestId('current-members').getByText('Sonia Lefebvre')).toHaveCount(0);
	// She no longer sees the microstructure.
	await guest.goto('/');
	await expect(guest.getByRole('main').getByText("Vous n'êtes membre d'aucune microstructure pour l'instant.")).toBeVisible();
});

test('on a 390 px phone the menu and the switcher remain usable', async ({ browser }) => {
	const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
	const page = await context.newPage();
	await signIn(page, 'karim.mansouri');
	await expect(page.getByRole('heading', { name: 'Bonjour Karim' })).toBeVisible();
	// The navigation is folded behind a menu button.
	await expect(page.getByRole('link', { name: 'Mon compte' })).toBeHidden();
	await page.getByRole('button', { name: 'Menu' }).click();
	await page.getByText('Mes microstructures').click();
	await page.getByRole('navigation').getByRole('link', { name: /MSP du Neuhof/ }).click();
	await expect(page.getByRole('heading', { level: 1, name: 'MSP du Neuhof' })).toBeVisible();
	const width = await page.evaluate(() => document.documentElement.scrollWidth);
	expect(width).toBeLessThanOrEqual(390);
	await expectAxeClean(page);
});
