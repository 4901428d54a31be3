import uPlot from 'uplot';

export interface Plot {
  /** Replaces the chart with one built from `options(width, height)` and `data`. */
  draw(options: (width: number, height: number) => uPlot.Options, data: uPlot.AlignedData): void;
  clear(): void;
}

/** One uPlot chart in `container`, rebuilt on every new data set and resized with its container. */
export function createPlot(container: HTMLElement, heights: { narrow: number; wide: number }): Plot {
  let plot: uPlot | null = null;
  const size = () => ({ width: Math.max(280, container.clientWidth), height: container.clientWidth < 600 ? heights.narrow : heights.wide });
  new ResizeObserver(() => plot?.setSize(size())).observe(container);
  return {
    draw(options, data) {
      plot?.destroy();
      const { width, height } = size();
      plot = new uPlot(options(width, height), data, container);
    },
    clear() {
      plot?.destroy();
      plot = null;
    },
  };
}
