// The authorization tests' fixture: two networks, three microstructures (A and B in net1, C in
// net2) and nine actors, one per kind of membership. Shared by every policy matrix test.
import type { Actor, MicrostructureRef } from '../../src/lib/server/access/policy.ts';

export const NET1 = '11111111-1111-4111-8111-111111111111';
export const NET2 = '22222222-2222-4222-8222-222222222222';
export const A: MicrostructureRef = { id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', networkId: NET1 };
export const B: MicrostructureRef = { id: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', networkId: NET1 };
export const C: MicrostructureRef = { id: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', networkId: NET2 };
/** Well formed, but no such microstructure. */
export const UNKNOWN_MS = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
export const MS = { A, B, C } as const;
export type MsKey = keyof typeof MS;

export async function resolveMs(id: string): Promise<MicrostructureRef | null> {
	return Object.values(MS).find((m) => m.id === id) ?? null;
}

export const uid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

export const ACTORS = {
	gp: { userId: uid(1), platformAdmin: false, microstructures: [{ id: A.id, networkId: NET1, role: 'soignant' }], networks: [] },
	psychologist: {
		userId: uid(2),
		platformAdmin: false,
		microstructures: [
			{ id: A.id, networkId: NET1, role: 'soignant' },
			{ id: B.id, networkId: NET1, role: 'soignant' }
		],
		networks: []
	},
	secretariat: { userId: uid(3), platformAdmin: false, microstructures: [{ id: A.id, networkId: NET1, role: 'secretariat' }], networks: [] },
	msCoordination: { userId: uid(4), platformAdmin: false, microstructures: [{ id: A.id, networkId: NET1, role: 'coordination' }], networks: [] },
	networkMedical: { userId: uid(5), platformAdmin: false, microstructures: [], networks: [{ id: NET1, role: 'coordination_medicale' }] },
	networkAdministrative: {
		userId: uid(6),
		platformAdmin: false,
		microstructures: [],
		networks: [{ id: NET1, role: 'coordination_administrative' }]
	},
	networkAdmin: { userId: uid(7), platformAdmin: false, microstructures: [], networks: [{ id: NET1, role: 'admin' }] },
	platformAdmin: { userId: uid(8), platformAdmin: true, microstructures: [], networks: [] },
	outsider: { userId: uid(9), platformAdmin: false, microstructures: [], networks: [] }
} satisfies Record<string, Actor>;
export type ActorKey = keyof typeof ACTORS;
export const ACTOR_KEYS = Object.keys(ACTORS) as ActorKey[];
export const MS_KEYS: MsKey[] = ['A', 'B', 'C'];

export type PerMs = Record<MsKey, boolean>;
export const ms = (a: boolean, b: boolean, c: boolean): PerMs => ({ A: a, B: b, C: c });

export type PerNet = { net1: boolean; net2: boolean };
export const net = (net1: boolean, net2: boolean): PerNet => ({ net1, net2 });
export const NETWORK_IDS = { net1: NET1, net2: NET2 };
