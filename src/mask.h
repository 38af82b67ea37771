/*
 * mask.h
 */
#ifndef PRIVACY_MASK_H
#define PRIVACY_MASK_H

extern void MaskInit(void);

#endif
