package redisstore_test

// workerEnv, when set, makes the test binary a worker process of the
// multi-process tests.
const workerEnv = "REDISSTORE_WORKER"
