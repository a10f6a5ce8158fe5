// What keeps a signed-in page live: the notifications badge, the messages badge and the outbox.
// The root layout imports this module dynamically, once someone is signed in: the sign-in page
// (and every signed-out page) does not download the socket.io client or the outbox's code.
import { getSocket } from './socket';
import { request } from '$lib/messaging/request';
import { sender } from '$lib/messaging/sender.svelte';
import { unread } from '$lib/messaging/unread.svelte';
import type { MessagePayload } from '$lib/messaging/types';

/** Starts the live badges and the outbox for this person; returns the clean-up. */
export function startSignedIn(userId: string, onNotification: () => void): () => void {
	const socket = getSocket();
	socket.on('notification:new', onNotification);
	const stopUnread = followUnread(userId);
	const stopSender = sender.start(userId);
	return () => {
		socket.off('notification:new', onNotification);
		stopUnread();
		void stopSender.then((stop) => stop());
	};
}

/**
 * The messages badge: exact from the server when it says so (msg:unread after a read, on any
 * device); in between, each new message of someone else counts one.
 */
function followUnread(userId: string): () => void {
	const socket = getSocket();
	const onUnread = (m: { total: number }) => {
		if (typeof m?.total === 'number') unread.total = m.total;
	};
	const onNew = (m: MessagePayload) => {
		if (m?.senderId !== userId) unread.total++;
	};
	// What arrived while disconnected is counted again by the server.
	let dropped = false;
	const onDisconnect = () => (dropped = true);
	const onConnect = async () => {
		if (!dropped) return;
		dropped = false;
		const answer = await request<{ total: number }>('msg:list', {});
		if (answer?.ok) unread.total = answer.total;
	};
	socket.on('msg:unread', onUnread);
	socket.on('msg:new', onNew);
	socket.on('disconnect', onDisconnect);
	socket.on('connect', onConnect);
	return () => {
		socket.off('msg:unread', onUnread);
		socket.off('msg:new', onNew);
		socket.off('disconnect', onDisconnect);
		socket.off('connect', onConnect);
	};
}
