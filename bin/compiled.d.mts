/** Types of bin/compiled.mjs (plain JS: the CLI's entry loads it before tsx is registered). */
export declare const ROOT: string;
export interface SourcesSnapshot { builtAt: number; files: Array<[string, string]> }
export declare function sources(root?: string): Array<[string, number]>;
export declare function compiledIsCurrent(root?: string): boolean;
export declare function snapshot(root?: string): SourcesSnapshot;
export declare function writeStamp(snap: SourcesSnapshot, root?: string): void;
