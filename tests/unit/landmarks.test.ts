// One <main> per page: the root layout's (the skip link targets it). A page or component that adds
// its own nests a second main landmark in it, which screen readers announce as two pages in one.
// The end-to-end suite checks the rendered pages too (tests/e2e/helpers.ts, expectPhoneLayout).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

function svelteFiles(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) return svelteFiles(path);
		return name.endsWith('.svelte') ? [path] : [];
	});
}

test('only the root layout has a <main> (or a role="main")', () => {
	const mains = svelteFiles('src')
		.map((path) => ({ path, count: (readFileSync(path, 'utf8').match(/<main[\s>]|role=["']main["']/g) ?? []).length }))
		.filter((f) => f.count > 0);
	expect(mains).toEqual([{ path: join('src', 'routes', '+layout.svelte'), count: 1 }]);
});
