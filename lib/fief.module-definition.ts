import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { FiefModuleConfig, FiefModuleExtras } from './fief-module-options.interface.js';

/**
 * The generated base of `FiefModule`. Extras are declared so that they are kept out of the options
 * provider; `FiefModule` applies them itself (nestjs/nest#13372).
 */
export const {
  ConfigurableModuleClass: FiefConfigurableModule,
  MODULE_OPTIONS_TOKEN: FIEF_MODULE_OPTIONS,
  OPTIONS_TYPE: FIEF_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: FIEF_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<FiefModuleConfig>({ moduleName: 'Fief' })
  .setClassMethodName('forRoot')
  .setExtras<FiefModuleExtras>({ isGlobal: false, globalGuard: false, passport: true, authController: false, errorFilter: true }, (definition) => definition)
  .build();
