import { fileURLToPath } from 'node:url';

/**
 * The installed project's root (where models/, data/sample/ and the built web UI live).
 * Compiled code runs from <root>/<outDir>/src/config/, three levels below it.
 */
export const packageRoot: string = fileURLToPath(new URL('../../../', import.meta.url));
