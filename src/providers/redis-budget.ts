import type { RedisClient } from 'redis';
import type { SharedBudget } from './rate-limiter';

// A token bucket in one Redis hash, refilled continuously at perMinute/60 000 per millisecond and holding at
// most one second of budget (or one unit), the same rule as the in-process bucket. Redis's clock is the clock.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local amount = tonumber(ARGV[3])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or capacity)
local last = tonumber(redis.call('HGET', KEYS[1], 'at') or now)
level = math.min(capacity, level + (now - last) * per_ms)
local needed = math.min(amount, capacity)
local wait = 0
if level >= needed then level = level - amount else wait = math.ceil((needed - level) / per_ms) end
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], 120000)
return wait`;

const GIVE = `
local capacity = tonumber(ARGV[1])
local level = tonumber(redis.call('HGET', KEYS[1], 'level') or capacity)
redis.call('HSET', KEYS[1], 'level', tostring(math.min(capacity, level + tonumber(ARGV[2]))))
return 0`;

/** Rate-limit state in Redis, shared by every worker: the limits in a suite's `providers` hold for the fleet. */
export class RedisSharedBudget implements SharedBudget {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix = 'evalrate:',
  ) {}

  take(key: string, perMinute: number, amount: number): Promise<number> {
    const capacity = Math.max(1, perMinute / 60);
    return new Promise((resolve, reject) =>
      this.client.eval(TAKE, 1, this.prefix + key, String(capacity), String(perMinute / 60_000), String(amount), (error: Error | null, wait: unknown) =>
        error ? reject(error) : resolve(Number(wait)),
      ),
    );
  }

  give(key: string, perMinute: number, amount: number): Promise<void> {
    const capacity = Math.max(1, perMinute / 60);
    return new Promise((resolve, reject) =>
      this.client.eval(GIVE, 1, this.prefix + key, String(capacity), String(amount), (error: Error | null) => (error ? reject(error) : resolve())),
    );
  }
}
