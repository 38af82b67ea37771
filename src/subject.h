/*
 * subject.h
 */
#ifndef PRIVACY_SUBJECT_H
#define PRIVACY_SUBJECT_H

extern void SubjectInit(void);

#endif
