// The seed's snippet declares `startCall` and exports nothing; the page needs to call it.
// Both builds append one export to that file as they read it, and leave the file itself as
// the platform's docs print it.
export const SEED = /seed-client\.js$/;
export const exposeSeed = (code) => `${code}\nexport { startCall };\n`;
