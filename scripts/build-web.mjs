// Replaced by the web dashboard build (esbuild bundle of web/ into dist/web).
