/**
 * Sleeps up to `ms`. `setWake` receives a function that ends the sleep early (a NOTIFY arrived, stop() was
 * called), and `undefined` again once the sleep is over, so a late wake-up is a no-op.
 */
export function interruptibleSleep(ms: number, setWake: (wake: (() => void) | undefined) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      setWake(undefined);
      resolve();
    };
    const timer = setTimeout(done, ms);
    setWake(done);
  });
}
