// Client components of the analysis pages (each file carries "use client").
export { type BuilderColumn, type BuilderFilter, FilterBuilder, opsFor } from "./FilterBuilder.tsx";
export { ServiceMap, type ServiceMapEdge } from "./ServiceMap.tsx";
export { type PickedRange, TimeRangePicker } from "./TimeRangePicker.tsx";
export { TimeSeriesChart } from "./TimeSeriesChart.tsx";
export { type VirtualColumn, VirtualTable } from "./VirtualTable.tsx";
export { Waterfall, type WaterfallSpan } from "./Waterfall.tsx";
