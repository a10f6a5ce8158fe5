import { expect, test } from '@playwright/test';
import { email, enrolTwoFactor, expectAxeClean, PASSWORD, signIn, signInHome, submit, totpFor } from './helpers';

test('a GP signs in and sees her microstructure', async ({ page }) => {
	await page.goto('/');
	await expect(page).toHaveURL(/\/login/);
	await expectAxeClean(page);
	await signInHome(page, 'ines.haddad');
	await expect(page.getByRole('heading', { name: 'Bonjour Inès' })).toBeVisible();
	await expect(page.getByRole('link', { name: /Cabinet des Tanneurs/ })).toBeVisible();
	await expectAxeClean(page);
});

test('a wrong password and an unknown e-mail get the same French message, and fields are checked', async ({ page }) => {
	await signIn(page, 'paul.schmitt', 'mauvais-mot-de-passe');
	await expect(page.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect.');
	await expect(page.getByLabel('Adresse e-mail')).toHaveValue(email('paul.schmitt'));
	await page.getByLabel('Mot de passe').fill('peu-importe');
	await page.getByLabel('Adresse e-mail').fill('personne@exemple.fr');
	await submit(page, 'Se connecter');
	await expect(page.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect.');
	await page.getByLabel('Adresse e-mail').fill('pas-une-adresse');
	await submit(page, 'Se connecter');
	await expect(page.getByText('Adresse e-mail invalide.')).toBeVisible();
	await expect(page.getByLabel('Adresse e-mail')).toHaveAttribute('aria-invalid', 'true');
});

test('a coordinator must enrol in 2FA, then signs in again with a code', async ({ page }) => {
	await signIn(page, 'marc.weber');
	await expect(page).toHaveURL(/\/2fa\/setup/);
	await expectAxeClean(page);
	// Nothing else is reachable before the second factor.
	await page.goto('/compte');
	await expect(page).toHaveURL(/\/2fa\/setup/);
	// A wrong code is refused and the QR code stays the same.
	const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
	await page.getByLabel('Code à 6 chiffres').fill('000000');
	await submit(page, 'Activer');
	await expect(page.getByRole('alert')).toHaveText('Code incorrect ou expiré.');
	await expect(page.getByTestId('totp-secret')).toHaveText(secret);
	await enrolTwoFactor(page);
	// The coordinator sees the three microstructures of the network.
	await page.getByText('Mes microstructures').click();
	await expect(page.getByRole('navigation').getByRole('link', { name: /MSP du Neuhof/ })).toBeVisible();

	await page.getByRole('button', { name: 'Se déconnecter' }).click();
	await expect(page.getByText('Vous êtes déconnecté·e.')).toBeVisible();
	await signIn(page, 'marc.weber');
	await expect(page).toHaveURL(/\/2fa$/);
	await page.getByLabel('Code à 6 chiffres').fill('123456');
	await submit(page, 'Vérifier');
	await expect(page.getByRole('alert')).toHaveText('Code incorrect ou expiré.');
	await page.getByLabel('Code à 6 chiffres').fill(totpFor(secret));
	await submit(page, 'Vérifier');
	await expect(page.getByRole('heading', { name: 'Bonjour Marc' })).toBeVisible();
});

test('changing the password closes the other sessions', async ({ browser }) => {
	const laptop = await (await browser.newContext()).newPage();
	const phone = await (await browser.newContext()).newPage();
	await signInHome(laptop, 'thomas.roth');
	await signInHome(phone, 'thomas.roth');
	await laptop.goto('/compte');
	await expectAxeClean(laptop);
	await laptop.getByLabel('Mot de passe actuel').fill('faux');
	await laptop.getByLabel('Nouveau mot de passe (10 caractères minimum)').fill('court');
	await laptop.getByLabel('Confirmez le mot de passe').fill('court');
	await submit(laptop, 'Changer le mot de passe');
	await expect(laptop.getByText('Le mot de passe doit contenir au moins 10 caractères.')).toBeVisible();
	await laptop.getByLabel('Mot de passe actuel').fill('faux');
	await laptop.getByLabel('Nouveau mot de passe (10 caractères minimum)').fill('Un-nouveau-secret-2026');
	await laptop.getByLabel('Confirmez le mot de passe').fill('Un-nouveau-secret-2026');
	await submit(laptop, 'Changer le mot de passe');
	await expect(laptop.getByRole('alert')).toHaveText('Mot de passe actuel incorrect.');
	await laptop.getByLabel('Mot de passe actuel').fill(PASSWORD);
	await laptop.getByLabel('Nouveau mot de passe (10 caractères minimum)').fill('Un-nouveau-secret-2026');
	await laptop.getByLabel('Confirmez le mot de passe').fill('Un-nouveau-secret-2026');
	await submit(laptop, 'Changer le mot de passe');
	await expect(laptop.getByRole('status')).toContainText('Mot de passe changé');
	// The laptop stays signed in, the phone is signed out.
	await laptop.goto('/');
	await expect(laptop.getByRole('heading', { name: 'Bonjour Thomas' })).toBeVisible();
	await phone.goto('/');
	await expect(phone).toHaveURL(/\/login/);
	await signIn(phone, 'thomas.roth', 'Un-nouveau-secret-2026');
	await expect(phone.getByRole('heading', { name: 'Bonjour Thomas' })).toBeVisible();
	// "Log out everywhere" ends both.
	await phone.goto('/compte');
	await phone.getByRole('button', { name: 'Se déconnecter de tous les appareils' }).click();
	await expect(phone).toHaveURL(/\/login/);
	await laptop.goto('/');
	await expect(laptop).toHaveURL(/\/login/);
});
