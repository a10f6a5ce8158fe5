// The quorum meter: which of the template's required professions are in the meeting right now.
// Shared by the live page (browser) and the coordinators' overview (server).
export interface QuorumLine {
	profession: string;
	met: boolean;
	/** Names of the people who cover it. */
	by: string[];
}

export function quorum(required: readonly string[], present: readonly { name: string; profession: string }[]): { lines: QuorumLine[]; met: boolean } {
	const lines = required.map((profession) => {
		const by = present.filter((p) => p.profession === profession).map((p) => p.name);
		return { profession, met: by.length > 0, by };
	});
	return { lines, met: lines.every((l) => l.met) };
}
