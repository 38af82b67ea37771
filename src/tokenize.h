/*
 * tokenize.h
 */
#ifndef PRIVACY_TOKENIZE_H
#define PRIVACY_TOKENIZE_H

extern void TokenizeInit(void);

#endif
