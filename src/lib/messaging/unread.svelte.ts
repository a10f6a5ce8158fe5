// The navigation badge: unread messages across every conversation. Only the count lives here, so
// that the root layout can show it without carrying the socket.io client; what keeps it live is in
// $lib/realtime/signed-in (loaded once someone is signed in).
class Unread {
	total = $state(0);
}

export const unread = new Unread();
