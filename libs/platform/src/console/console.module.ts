import { type DynamicModule, Module } from '@nestjs/common';
import { ConsoleAssets, DEFAULT_CONSOLE_DIR } from './console-assets';
import { CONSOLE_ASSETS, ConsoleController } from './console.controller';

/**
 * Serves the web console (built by `npm run build` into dist/console) from the process that hosts it: the
 * product in embedded mode, the identity service in deployed mode.
 */
@Module({})
export class ConsoleModule {
  static forRoot(options: { dir?: string } = {}): DynamicModule {
    return {
      module: ConsoleModule,
      controllers: [ConsoleController],
      providers: [
        { provide: CONSOLE_ASSETS, useFactory: () => ConsoleAssets.load(options.dir ?? DEFAULT_CONSOLE_DIR) },
      ],
    };
  }
}
