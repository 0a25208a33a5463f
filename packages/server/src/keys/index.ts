export { keyStatus, type KeyStatus, type KidCount, type ColumnKeyCounts } from './status.ts';
export {
  rotateKeys,
  rotationCursorFile,
  ROTATION_CURSOR_FILE,
  type RotateOptions,
  type RotationResult,
  type RotationFailure,
  type RotationCursor,
  type RotationBatch,
} from './rotate.ts';
export { SEALED_TABLES, kidOfSealed, type SealedTable, type SealedColumn } from './sealed.ts';
