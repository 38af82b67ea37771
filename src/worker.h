/*
 * worker.h
 */
#ifndef PRIVACY_WORKER_H
#define PRIVACY_WORKER_H

extern void WorkerInit(void);

#endif
