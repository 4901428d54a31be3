declare module 'pino-roll' {
  import type SonicBoom from 'sonic-boom';

  interface PinoRollOptions {
    file: string | (() => string);
    size?: number | string;
    frequency?: number | 'daily' | 'hourly';
    extension?: string;
    // `symlink` is left out on purpose: it keeps one `current.log` per folder, which processes sharing the folder
    // re-point at each other's files (logger.ts links each process's own name instead).
    dateFormat?: string;
    mkdir?: boolean;
    /** Mode of the log files it creates (passed to SonicBoom). */
    mode?: number;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
  }

  /**
   * The SonicBoom pino-roll writes through. `file` (missing from sonic-boom's types) is the path it writes to: at
   * each 'ready' (the first open, then every rotation's reopen) the file just opened.
   */
  export type RollingStream = SonicBoom & { readonly file: string | null };

  export default function build(options: PinoRollOptions): Promise<RollingStream>;
}
