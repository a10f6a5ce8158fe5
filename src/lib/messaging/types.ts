// What the browser receives from the messaging server (socket acks, msg:new, page loads): plain
// JSON, declared here so that no browser module imports server code.
export interface AttachmentInfo {
	id: string;
	kind: 'file' | 'image' | 'voice';
	filename: string;
	contentType: string;
	size: number;
	durationMs: number | null;
	hasThumbnail: boolean;
}

export interface MessagePayload {
	id: string;
	conversationId: string;
	seq: number;
	senderId: string;
	senderName: string;
	clientId: string;
	body: string;
	link: MessageLink | null;
	mentions: string[];
	createdAt: string;
	editedAt: string | null;
	deletedAt: string | null;
	attachments: AttachmentInfo[];
}

/** A compte-rendu or a PPS version shared into a patient's thread (opened through /messages/lien/<type>/<id>). */
export interface MessageLink {
	type: 'rcp_report' | 'pps_version';
	id: string;
}

export interface ReaderPosition {
	userId: string;
	name: string;
	seq: number;
	readAt: string | null;
}

export interface ConversationListItem {
	id: string;
	kind: 'patient' | 'team' | 'direct' | 'group';
	title: string;
	microstructureName: string | null;
	lastSeq: number;
	lastMessageAt: string | null;
	unread: number;
	lastSender: string | null;
	lastExcerpt: string | null;
}

export type Ack<T = Record<string, unknown>> = ({ ok: true } & T) | { ok: false; error: string };

/** The body limit the server enforces (messages.ts MAX_BODY). */
export const MAX_BODY = 4000;
/** How long one's own message may be corrected (messages.ts EDIT_WINDOW_MS). */
export const EDIT_WINDOW_MS = 15 * 60_000;
