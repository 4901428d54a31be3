declare module 'pino-roll' {
  import type SonicBoom from 'sonic-boom';

  interface PinoRollOptions {
    file: string | (() => string);
    size?: number | string;
    frequency?: number | 'daily' | 'hourly';
    extension?: string;
    symlink?: boolean;
    dateFormat?: string;
    mkdir?: boolean;
    /** Mode of the log files it creates (passed to SonicBoom). */
    mode?: number;
    limit?: { count?: number; removeOtherLogFiles?: boolean };
  }

  export default function build(options: PinoRollOptions): Promise<SonicBoom>;
}
