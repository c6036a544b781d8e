export { exportTable, exportFormatOf, exportTables, exportFormats, type ExportTable, type ExportFormat, type ExportOptions, type ExportSummary } from './export.service.ts';
