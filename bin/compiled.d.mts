/** Types of bin/compiled.mjs (plain JS: the CLI's entry loads it before tsx is registered). */
export declare const ROOT: string;
export declare function sources(root?: string): Array<[string, number]>;
export declare function compiledIsCurrent(root?: string): boolean;
export declare function writeStamp(startedAt: number, root?: string): void;
