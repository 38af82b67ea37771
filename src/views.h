/*
 * views.h
 */
#ifndef PRIVACY_VIEWS_H
#define PRIVACY_VIEWS_H

extern void ViewsInit(void);

#endif
