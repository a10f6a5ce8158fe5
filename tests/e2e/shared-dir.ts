// Where the end-to-end server launcher and the test workers exchange files (received mails, TOTP
// secrets of enrolled demo people): one directory per e2e port, emptied at each server start.
import { resolve } from 'node:path';

export function e2eSharedDir(port: string): string {
	const suffix = port && port !== '4173' ? `_${port}` : '';
	return resolve(`.data-e2e${suffix}-shared`);
}
