// With DATABASE_URL (CI, real PostgreSQL): migrate a template database once; every test file then
// gets its own copy (CREATE DATABASE … TEMPLATE), so files run in parallel without seeing each other.
// Without it, every file boots its own in-memory PGlite instead.
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDb } from '../../src/lib/server/db/index.ts';
import { migrateToLatest } from '../../src/lib/server/db/migrate.ts';

export function databaseUrlFor(base: string, database: string): string {
	const url = new URL(base);
	url.pathname = `/${database}`;
	return url.toString();
}

export default async function setup(project: TestProject) {
	const base = process.env.DATABASE_URL;
	if (!base) {
		project.provide('templateDb', '');
		return;
	}
	const template = `msh_template_${process.pid}`;
	const admin = new pg.Client({ connectionString: base });
	await admin.connect();
	await admin.query(`drop database if exists ${template}`);
	await admin.query(`create database ${template}`);
	const pool = new pg.Pool({ connectionString: databaseUrlFor(base, template), max: 1 });
	const db = createDb(pool);
	await migrateToLatest(db);
	await db.destroy();
	project.provide('templateDb', template);
	return async () => {
		await admin.query(`drop database if exists ${template} with (force)`);
		await admin.end();
	};
}

declare module 'vitest' {
	export interface ProvidedContext {
		templateDb: string;
	}
}
