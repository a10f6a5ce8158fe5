// The home page lists the microstructures from the layout data; nothing more to load here.
export function load() {
	return {};
}
