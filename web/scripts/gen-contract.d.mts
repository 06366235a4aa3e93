/** Paths of proto/contract/contract.json and the committed C++ header (see gen-contract.mjs). */
export const contractJson: string;
export const contractHeader: string;
/** The TypeScript module (src/gen/contract.ts) for the contract JSON text (default: the file). */
export function renderTs(text?: string): string;
/** The C++ header (proto/contract/contract.h) for the contract JSON text (default: the file). */
export function renderCpp(text?: string): string;
