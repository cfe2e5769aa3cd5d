export { ConsoleAssets, DEFAULT_CONSOLE_DIR } from './console-assets';
export { ConsoleModule } from './console.module';
