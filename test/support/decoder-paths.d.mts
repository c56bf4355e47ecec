/** Path of the ffmpeg the tests use (see decoder-paths.mjs). */
export declare const testFfmpegPath: string;
/** Path of the ffprobe the tests use (see decoder-paths.mjs). */
export declare const testFfprobePath: string;
